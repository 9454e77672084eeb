-- crmcore schema version 1 (SQLite), as SqlStore.create_schema() of the release before
-- the event store wrote it: captured from sqlite_master, one statement per entry.
CREATE TABLE crm_customers (
	id TEXT NOT NULL, 
	version BIGINT NOT NULL, 
	custom TEXT NOT NULL, 
	name TEXT NOT NULL, 
	created_at BIGINT NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	email TEXT, 
	phone TEXT, 
	address TEXT, 
	account_id TEXT, 
	birth_date TEXT, 
	consents TEXT NOT NULL, 
	tags TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE crm_accounts (
	id TEXT NOT NULL, 
	version BIGINT NOT NULL, 
	custom TEXT NOT NULL, 
	name TEXT NOT NULL, 
	created_at BIGINT NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	industry TEXT, 
	website TEXT, 
	owner TEXT, 
	parent_id TEXT, 
	phone TEXT, 
	address TEXT, 
	tags TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE crm_contacts (
	id TEXT NOT NULL, 
	version BIGINT NOT NULL, 
	custom TEXT NOT NULL, 
	account_id TEXT NOT NULL, 
	name TEXT NOT NULL, 
	created_at BIGINT NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	title TEXT, 
	email TEXT, 
	phone TEXT, 
	consents TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE crm_leads (
	id TEXT NOT NULL, 
	version BIGINT NOT NULL, 
	custom TEXT NOT NULL, 
	name TEXT NOT NULL, 
	source TEXT NOT NULL, 
	created_at BIGINT NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	company TEXT, 
	email TEXT, 
	phone TEXT, 
	campaign_id TEXT, 
	status TEXT NOT NULL, 
	owner TEXT, 
	score DOUBLE, 
	converted_at BIGINT, 
	converted_at_tz TEXT, 
	converted_account_id TEXT, 
	converted_contact_id TEXT, 
	converted_opportunity_id TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE crm_opportunities (
	id TEXT NOT NULL, 
	version BIGINT NOT NULL, 
	custom TEXT NOT NULL, 
	account_id TEXT NOT NULL, 
	name TEXT NOT NULL, 
	amount TEXT NOT NULL, 
	amount_currency TEXT NOT NULL, 
	expected_close_date TEXT NOT NULL, 
	probability DOUBLE NOT NULL, 
	created_at BIGINT NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	stage TEXT NOT NULL, 
	probability_is_manual BOOLEAN NOT NULL, 
	lost_reason TEXT, 
	last_open_stage TEXT, 
	closed_at BIGINT, 
	closed_at_tz TEXT, 
	owner TEXT, 
	contact_id TEXT, 
	campaign_id TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE crm_activities (
	id TEXT NOT NULL, 
	version BIGINT NOT NULL, 
	custom TEXT NOT NULL, 
	kind TEXT NOT NULL, 
	subject TEXT NOT NULL, 
	created_at BIGINT NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	due_at BIGINT, 
	due_at_tz TEXT, 
	completed_at BIGINT, 
	completed_at_tz TEXT, 
	owner TEXT, 
	customer_id TEXT, 
	account_id TEXT, 
	contact_id TEXT, 
	lead_id TEXT, 
	opportunity_id TEXT, 
	ticket_id TEXT, 
	notes TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE crm_tickets (
	id TEXT NOT NULL, 
	version BIGINT NOT NULL, 
	custom TEXT NOT NULL, 
	customer_id TEXT NOT NULL, 
	subject TEXT NOT NULL, 
	channel TEXT NOT NULL, 
	created_at BIGINT NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	priority TEXT NOT NULL, 
	status TEXT NOT NULL, 
	first_response_at BIGINT, 
	first_response_at_tz TEXT, 
	resolved_at BIGINT, 
	resolved_at_tz TEXT, 
	owner TEXT, 
	contact_id TEXT, 
	description TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE crm_campaigns (
	id TEXT NOT NULL, 
	version BIGINT NOT NULL, 
	custom TEXT NOT NULL, 
	name TEXT NOT NULL, 
	channel TEXT NOT NULL, 
	start_date TEXT NOT NULL, 
	end_date TEXT, 
	budget TEXT, 
	budget_currency TEXT, 
	status TEXT NOT NULL, 
	owner TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE crm_orders (
	id TEXT NOT NULL, 
	version BIGINT NOT NULL, 
	custom TEXT NOT NULL, 
	customer_id TEXT NOT NULL, 
	placed_at BIGINT NOT NULL, 
	placed_at_tz TEXT NOT NULL, 
	amount TEXT NOT NULL, 
	amount_currency TEXT NOT NULL, 
	status TEXT NOT NULL, 
	campaign_id TEXT, 
	channel TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE crm_survey_responses (
	id TEXT NOT NULL, 
	version BIGINT NOT NULL, 
	custom TEXT NOT NULL, 
	customer_id TEXT NOT NULL, 
	kind TEXT NOT NULL, 
	score BIGINT NOT NULL, 
	answered_at BIGINT NOT NULL, 
	answered_at_tz TEXT NOT NULL, 
	scale BIGINT NOT NULL, 
	comment TEXT, 
	ticket_id TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE crm_loyalty_accounts (
	id TEXT NOT NULL, 
	version BIGINT NOT NULL, 
	custom TEXT NOT NULL, 
	customer_id TEXT NOT NULL, 
	program_id TEXT NOT NULL, 
	opened_at BIGINT NOT NULL, 
	opened_at_tz TEXT NOT NULL, 
	tier TEXT, 
	closed_at BIGINT, 
	closed_at_tz TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE crm_schema (
	version INTEGER NOT NULL
);
CREATE INDEX ix_crm_customers_account_id ON crm_customers (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX ix_crm_customers_created_at ON crm_customers (created_at);
CREATE INDEX ix_crm_customers_email ON crm_customers (email) WHERE email IS NOT NULL;
CREATE INDEX ix_crm_accounts_parent_id ON crm_accounts (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX ix_crm_accounts_name ON crm_accounts (name);
CREATE INDEX ix_crm_contacts_email ON crm_contacts (email) WHERE email IS NOT NULL;
CREATE INDEX ix_crm_contacts_account_id ON crm_contacts (account_id);
CREATE INDEX ix_crm_leads_converted_opportunity_id ON crm_leads (converted_opportunity_id) WHERE converted_opportunity_id IS NOT NULL;
CREATE INDEX ix_crm_leads_campaign_id ON crm_leads (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX ix_crm_leads_status ON crm_leads (status);
CREATE INDEX ix_crm_leads_created_at ON crm_leads (created_at);
CREATE INDEX ix_crm_leads_converted_account_id ON crm_leads (converted_account_id) WHERE converted_account_id IS NOT NULL;
CREATE INDEX ix_crm_leads_converted_contact_id ON crm_leads (converted_contact_id) WHERE converted_contact_id IS NOT NULL;
CREATE INDEX ix_crm_opportunities_campaign_id ON crm_opportunities (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX ix_crm_opportunities_contact_id ON crm_opportunities (contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX ix_crm_opportunities_stage ON crm_opportunities (stage);
CREATE INDEX ix_crm_opportunities_expected_close_date ON crm_opportunities (expected_close_date);
CREATE INDEX ix_crm_opportunities_account_id ON crm_opportunities (account_id);
CREATE INDEX ix_crm_activities_kind ON crm_activities (kind);
CREATE INDEX ix_crm_activities_contact_id ON crm_activities (contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX ix_crm_activities_lead_id ON crm_activities (lead_id) WHERE lead_id IS NOT NULL;
CREATE INDEX ix_crm_activities_due_at ON crm_activities (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX ix_crm_activities_account_id ON crm_activities (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX ix_crm_activities_opportunity_id ON crm_activities (opportunity_id) WHERE opportunity_id IS NOT NULL;
CREATE INDEX ix_crm_activities_ticket_id ON crm_activities (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX ix_crm_activities_customer_id ON crm_activities (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX ix_crm_tickets_contact_id ON crm_tickets (contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX ix_crm_tickets_status ON crm_tickets (status);
CREATE INDEX ix_crm_tickets_customer_id ON crm_tickets (customer_id);
CREATE INDEX ix_crm_tickets_created_at ON crm_tickets (created_at);
CREATE INDEX ix_crm_campaigns_status ON crm_campaigns (status);
CREATE INDEX ix_crm_orders_campaign_id ON crm_orders (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX ix_crm_orders_placed_at ON crm_orders (placed_at);
CREATE INDEX ix_crm_orders_customer_id ON crm_orders (customer_id);
CREATE INDEX ix_crm_survey_responses_kind ON crm_survey_responses (kind);
CREATE INDEX ix_crm_survey_responses_answered_at ON crm_survey_responses (answered_at);
CREATE INDEX ix_crm_survey_responses_customer_id ON crm_survey_responses (customer_id);
CREATE INDEX ix_crm_survey_responses_ticket_id ON crm_survey_responses (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX ix_crm_loyalty_accounts_customer_id ON crm_loyalty_accounts (customer_id);
CREATE INDEX ix_crm_loyalty_accounts_tier ON crm_loyalty_accounts (tier) WHERE tier IS NOT NULL;
CREATE INDEX ix_crm_loyalty_accounts_program_id ON crm_loyalty_accounts (program_id);
INSERT INTO crm_schema (version) VALUES (1);
