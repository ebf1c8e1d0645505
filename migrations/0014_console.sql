CREATE TABLE `console_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`tid` text NOT NULL,
	`oid` text NOT NULL,
	`upn` text,
	`name` text,
	`csrf_token` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE INDEX `console_sessions_user_idx` ON `console_sessions` (`tid`,`oid`);--> statement-breakpoint
CREATE INDEX `console_sessions_expires_idx` ON `console_sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE `staff` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`tid` text NOT NULL,
	`oid` text,
	`upn` text,
	`role` text NOT NULL,
	`created_by` text NOT NULL,
	`last_sign_in_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE restrict,
	CONSTRAINT "staff_named" CHECK("staff"."oid" IS NOT NULL OR "staff"."upn" IS NOT NULL),
	CONSTRAINT "staff_lowercase" CHECK("staff"."tid" = lower("staff"."tid") AND ("staff"."oid" IS NULL OR "staff"."oid" = lower("staff"."oid")) AND ("staff"."upn" IS NULL OR "staff"."upn" = lower("staff"."upn")))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `staff_org_oid_uq` ON `staff` (`org_id`,`tid`,`oid`);--> statement-breakpoint
CREATE UNIQUE INDEX `staff_org_upn_uq` ON `staff` (`org_id`,`tid`,`upn`);--> statement-breakpoint
CREATE INDEX `staff_user_idx` ON `staff` (`tid`,`oid`);--> statement-breakpoint
CREATE INDEX `staff_upn_idx` ON `staff` (`tid`,`upn`);--> statement-breakpoint
ALTER TABLE `sign_in_attempts` ADD `account` text;