//! Provider webhook receivers: verify, then store the event and its job in
//! one transaction, then acknowledge.

pub mod calendly;
pub mod microsoft;
pub mod signature;
