-- Parked events are retried on a schedule that backs off (1 minute, then 2, 4, ... up to 6
-- hours), and not at all for a code no retry can change (the operator retries those by hand).
-- next_retry_at is when the next automatic retry is due; NULL: none is scheduled.
ALTER TABLE events ADD COLUMN next_retry_at INTEGER;
CREATE INDEX events_retry ON events (status, next_retry_at);
-- Events parked before this schedule existed are due now.
UPDATE events SET next_retry_at = 0 WHERE status = 'pending';
