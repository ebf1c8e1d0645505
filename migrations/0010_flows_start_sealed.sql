DROP INDEX `sso_flows_state_uq`;--> statement-breakpoint
ALTER TABLE `sso_flows` DROP COLUMN `state_hash`;--> statement-breakpoint
ALTER TABLE `sso_flows` DROP COLUMN `secrets`;