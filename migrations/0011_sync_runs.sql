CREATE TABLE `sync_runs` (
	`phone_system_id` text PRIMARY KEY NOT NULL,
	`run_id` text NOT NULL,
	`started_at` integer NOT NULL,
	FOREIGN KEY (`phone_system_id`) REFERENCES `phone_systems`(`id`) ON UPDATE no action ON DELETE cascade
);
