//! The emulators over real HTTP, each against what the real provider does:
//! OAuth, the REST API a client reads, webhook deliveries, faults and the
//! control API's ground truth. One binary, a module per provider.

mod calendly;
mod google;
mod microsoft;
