-- What a job costs upstream in USD, when the provider publishes prices (fal.ai); NULL otherwise.
ALTER TABLE jobs ADD COLUMN cost_usd REAL;
