-- Moving a flat customer to a nested portal (POST /api/v1/orgs/{id}/move): until
-- `partner_hosts_until` (Unix ms) its partner's hosts still serve its phone systems,
-- besides its own hosts (src/tenancy/portal.ts). NULL for every organization that
-- exists today: none was moved.
ALTER TABLE `organizations` ADD `partner_hosts_until` integer;
