-- Several pikabot processes may share one database. A job being worked on carries a lease: which
-- process holds it (lease_owner) and until when (lease_until); a process that dies leaves its jobs
-- to the others once the lease ends. Placing a job in Discord is the other pipeline and has its own
-- lease, so a slow submit never holds back the status message (and the reverse).
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until REAL;
ALTER TABLE jobs ADD COLUMN place_owner TEXT;
ALTER TABLE jobs ADD COLUMN place_until REAL;
-- The heartbeat renews one process's leases; releasing a dead process's leases finds them too.
CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX jobs_place_owner ON jobs (place_owner) WHERE place_owner IS NOT NULL;
