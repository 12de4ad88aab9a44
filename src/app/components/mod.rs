pub mod connection_status;
pub mod copy_field;
pub mod dates;
pub mod flash;
pub mod layout;
pub mod provider_icon;
pub mod time_zone;
