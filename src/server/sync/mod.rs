//! Two-way sync of what calbridge writes to calendars (bookings and
//! appointments): the decision (`plan`, pure), the export's shared driver
//! (`export`: the job, the inline try, the passes), one lock per mirrored
//! record (`SyncLocks`), and the sync log (`runs`).

pub mod export;
pub mod plan;
pub mod runs;

use crate::server::platform::keyed_lock::KeyedLocks;

/// One side at a time per mirrored record: the export (which writes
/// calbridge's side and records it) and the import (which reads what was
/// last agreed, decides, and records the calendar's side) each read, decide
/// and write back; overlapping, the later write would undo the earlier
/// one's decision. In this process; across instances the database decides
/// (`If-Match`, leases).
pub type SyncLocks = KeyedLocks<export::Mirrored>;
