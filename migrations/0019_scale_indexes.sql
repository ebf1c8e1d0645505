-- Indexes the query-plan test (test/db/query-plans.test.ts) asks for: each serves a cron query that read the whole
-- table at every run (every 5 minutes), which at 100,000 hostnames is 100,000 rows read per query per run.
-- Stale pending custom hostnames released (status IN ('pending','failed') AND pending_since < ? ORDER BY pending_since):
-- pending_since is NULL on every active host, so the range skips them all.
CREATE INDEX `hostnames_pending_since_idx` ON `hostnames` (`pending_since`);--> statement-breakpoint
-- Redirect URI registrations retried (direct, unregistered, active, resting since updated_at, oldest first).
CREATE INDEX `hostnames_registration_due_idx` ON `hostnames` (`callback_mode`,`redirect_uri_registered`,`status`,`updated_at`);--> statement-breakpoint
-- Redirect URI registrations confirmed (registered, never or long ago checked, oldest first).
CREATE INDEX `hostnames_registration_check_idx` ON `hostnames` (`redirect_uri_registered`,`redirect_uri_checked_at`);--> statement-breakpoint
-- Ended console sessions deleted (expired OR revoked OR idle): one index per term of the OR (expires_at has its own).
CREATE INDEX `console_sessions_revoked_idx` ON `console_sessions` (`revoked_at`);--> statement-breakpoint
CREATE INDEX `console_sessions_seen_idx` ON `console_sessions` (`last_seen_at`);
