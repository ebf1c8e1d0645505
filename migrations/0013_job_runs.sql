-- The last run of each scheduled job (one row per job, replaced every run):
-- what the ops health view shows, and how ops see that the cron stopped.
CREATE TABLE `job_runs` (
	`job` text PRIMARY KEY NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer NOT NULL,
	`ok` integer NOT NULL,
	`result` text NOT NULL,
	`error` text,
	`last_ok_at` integer
);
