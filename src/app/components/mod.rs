pub mod copy_field;
pub mod flash;
pub mod layout;
pub mod time_zone;
