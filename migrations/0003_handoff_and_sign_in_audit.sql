CREATE TABLE `sign_in_attempts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`result` text NOT NULL,
	`reason` text NOT NULL,
	`step` text NOT NULL,
	`hostname` text,
	`org_id` text,
	`phone_system_id` text,
	`tid` text,
	`oid` text,
	`correlation_id` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sign_in_attempts_org_idx` ON `sign_in_attempts` (`org_id`,`at`);--> statement-breakpoint
CREATE INDEX `sign_in_attempts_at_idx` ON `sign_in_attempts` (`at`);--> statement-breakpoint
ALTER TABLE `sso_flows` ADD `choices` text;--> statement-breakpoint
ALTER TABLE `sso_flows` ADD `choice_token_hash` text;--> statement-breakpoint
ALTER TABLE `sso_flows` ADD `chosen_at` integer;