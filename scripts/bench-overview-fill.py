#!/usr/bin/env python3
"""Fills a calbridge SQLite database for the admin overview benchmark
(BENCHMARKS.md, "Admin overview"): N webhook events of the first tenant
spread over the last 7 days across its connections, each with its done
processing job, and the overview's hourly rows rebuilt from them as the
migration that created them does. Run against a stopped server's file."""
import random
import sqlite3
import sys
import time
import uuid

path, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
db = sqlite3.connect(path)
tenant, = db.execute("SELECT id FROM tenants ORDER BY created_at LIMIT 1").fetchone()
connections = db.execute(
    "SELECT id, user_id, provider FROM connections WHERE tenant_id = ?", (tenant,)
).fetchall()
if not connections:
    sys.exit("connect at least one calendar first")
now = int(time.time() * 1000)
week = 7 * 24 * 3600 * 1000
results = ["processed"] * 90 + ["failed"] * 4 + ["rejected"] * 3 + ["ignored"] * 2 + ["queued"]
random.seed(7)

def rows():
    for i in range(count):
        conn, user, provider = random.choice(connections)
        at = now - random.randrange(week)
        result = random.choice(results)
        event = str(uuid.uuid4())
        yield event, conn, user, provider, result, at, i

batch = []
t0 = time.time()
db.execute("BEGIN")
for event, conn, user, provider, result, at, i in rows():
    batch.append((event, tenant, user, conn, provider, "invitee.created", f"bench|{i}", result,
                  '{"event":"invitee.created"}', at, None if result == "queued" else at + 40))
    if len(batch) == 10_000:
        db.executemany(
            "INSERT INTO webhook_events (id, tenant_id, user_id, connection_id, provider, event_type, "
            "dedupe_key, result, payload, received_at, processed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch)
        db.executemany(
            "INSERT INTO jobs (id, tenant_id, kind, payload, status, run_at, attempts, max_attempts, "
            "created_at, updated_at, finished_at) VALUES (?, ?, 'webhook.process', '{}', 'done', ?, 1, 8, ?, ?, ?)",
            [(str(uuid.uuid4()), tenant, b[9], b[9], b[9] + 40, b[9] + 40) for b in batch])
        batch.clear()
if batch:
    sys.exit("use a multiple of 10,000")
db.execute("DELETE FROM activity_by_hour WHERE tenant_id = ?", (tenant,))
db.execute("""
INSERT INTO activity_by_hour (tenant_id, provider, hour, queued, processed, ignored, rejected, failed,
    acked, ack_us_sum, ack_us_max, ack_le_5ms)
SELECT tenant_id, provider, received_at / 3600000,
       SUM(result = 'queued'), SUM(result = 'processed'), SUM(result = 'ignored'),
       SUM(result = 'rejected'), SUM(result = 'failed'), COUNT(*), COUNT(*) * 3000, 9000, COUNT(*)
FROM webhook_events WHERE tenant_id = ? GROUP BY tenant_id, provider, received_at / 3600000""", (tenant,))
db.commit()
total, = db.execute("SELECT COUNT(*) FROM webhook_events").fetchone()
hours, = db.execute("SELECT COUNT(*) FROM activity_by_hour").fetchone()
print(f"{total:,} webhook events, {hours:,} hourly rows, in {time.time() - t0:.0f} s")
