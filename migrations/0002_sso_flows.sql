CREATE TABLE `sso_flows` (
	`id` text PRIMARY KEY NOT NULL,
	`state_hash` text NOT NULL,
	`hostname` text NOT NULL,
	`org_id` text,
	`redirect_uri` text NOT NULL,
	`tenant` text NOT NULL,
	`secrets` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`consumed_at` integer,
	`result` text,
	`completion_code_hash` text,
	`completion_expires_at` integer,
	`completed_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sso_flows_state_uq` ON `sso_flows` (`state_hash`);--> statement-breakpoint
CREATE INDEX `sso_flows_expires_idx` ON `sso_flows` (`expires_at`);