-- crmcore schema version 1 (PostgreSQL), as SqlStore.create_schema() of the release before
-- the event store emitted it (SQLAlchemy's DDL for that metadata), one statement per entry.
CREATE TABLE crm_accounts (
	id TEXT COLLATE "C" NOT NULL, 
	version BIGINT NOT NULL, 
	custom JSON NOT NULL, 
	name TEXT COLLATE "C" NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	industry TEXT COLLATE "C", 
	website TEXT COLLATE "C", 
	owner TEXT COLLATE "C", 
	parent_id TEXT COLLATE "C", 
	phone JSON, 
	address JSON, 
	tags JSON NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_crm_accounts_name ON crm_accounts (name);
CREATE INDEX ix_crm_accounts_parent_id ON crm_accounts (parent_id) WHERE parent_id IS NOT NULL;
CREATE TABLE crm_activities (
	id TEXT COLLATE "C" NOT NULL, 
	version BIGINT NOT NULL, 
	custom JSON NOT NULL, 
	kind TEXT COLLATE "C" NOT NULL, 
	subject TEXT COLLATE "C" NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	due_at TIMESTAMP WITH TIME ZONE, 
	due_at_tz TEXT, 
	completed_at TIMESTAMP WITH TIME ZONE, 
	completed_at_tz TEXT, 
	owner TEXT COLLATE "C", 
	customer_id TEXT COLLATE "C", 
	account_id TEXT COLLATE "C", 
	contact_id TEXT COLLATE "C", 
	lead_id TEXT COLLATE "C", 
	opportunity_id TEXT COLLATE "C", 
	ticket_id TEXT COLLATE "C", 
	notes TEXT COLLATE "C", 
	PRIMARY KEY (id)
);
CREATE INDEX ix_crm_activities_account_id ON crm_activities (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX ix_crm_activities_contact_id ON crm_activities (contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX ix_crm_activities_customer_id ON crm_activities (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX ix_crm_activities_due_at ON crm_activities (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX ix_crm_activities_kind ON crm_activities (kind);
CREATE INDEX ix_crm_activities_lead_id ON crm_activities (lead_id) WHERE lead_id IS NOT NULL;
CREATE INDEX ix_crm_activities_opportunity_id ON crm_activities (opportunity_id) WHERE opportunity_id IS NOT NULL;
CREATE INDEX ix_crm_activities_ticket_id ON crm_activities (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE TABLE crm_campaigns (
	id TEXT COLLATE "C" NOT NULL, 
	version BIGINT NOT NULL, 
	custom JSON NOT NULL, 
	name TEXT COLLATE "C" NOT NULL, 
	channel TEXT COLLATE "C" NOT NULL, 
	start_date DATE NOT NULL, 
	end_date DATE, 
	budget NUMERIC, 
	budget_currency TEXT COLLATE "C", 
	status TEXT COLLATE "C" NOT NULL, 
	owner TEXT COLLATE "C", 
	PRIMARY KEY (id)
);
CREATE INDEX ix_crm_campaigns_status ON crm_campaigns (status);
CREATE TABLE crm_contacts (
	id TEXT COLLATE "C" NOT NULL, 
	version BIGINT NOT NULL, 
	custom JSON NOT NULL, 
	account_id TEXT COLLATE "C" NOT NULL, 
	name TEXT COLLATE "C" NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	title TEXT COLLATE "C", 
	email TEXT COLLATE "C", 
	phone JSON, 
	consents JSON NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_crm_contacts_account_id ON crm_contacts (account_id);
CREATE INDEX ix_crm_contacts_email ON crm_contacts (email) WHERE email IS NOT NULL;
CREATE TABLE crm_customers (
	id TEXT COLLATE "C" NOT NULL, 
	version BIGINT NOT NULL, 
	custom JSON NOT NULL, 
	name TEXT COLLATE "C" NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	email TEXT COLLATE "C", 
	phone JSON, 
	address JSON, 
	account_id TEXT COLLATE "C", 
	birth_date DATE, 
	consents JSON NOT NULL, 
	tags JSON NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_crm_customers_account_id ON crm_customers (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX ix_crm_customers_created_at ON crm_customers (created_at);
CREATE INDEX ix_crm_customers_email ON crm_customers (email) WHERE email IS NOT NULL;
CREATE TABLE crm_leads (
	id TEXT COLLATE "C" NOT NULL, 
	version BIGINT NOT NULL, 
	custom JSON NOT NULL, 
	name TEXT COLLATE "C" NOT NULL, 
	source TEXT COLLATE "C" NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	company TEXT COLLATE "C", 
	email TEXT COLLATE "C", 
	phone JSON, 
	campaign_id TEXT COLLATE "C", 
	status TEXT COLLATE "C" NOT NULL, 
	owner TEXT COLLATE "C", 
	score DOUBLE PRECISION, 
	converted_at TIMESTAMP WITH TIME ZONE, 
	converted_at_tz TEXT, 
	converted_account_id TEXT COLLATE "C", 
	converted_contact_id TEXT COLLATE "C", 
	converted_opportunity_id TEXT COLLATE "C", 
	PRIMARY KEY (id)
);
CREATE INDEX ix_crm_leads_campaign_id ON crm_leads (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX ix_crm_leads_converted_account_id ON crm_leads (converted_account_id) WHERE converted_account_id IS NOT NULL;
CREATE INDEX ix_crm_leads_converted_contact_id ON crm_leads (converted_contact_id) WHERE converted_contact_id IS NOT NULL;
CREATE INDEX ix_crm_leads_converted_opportunity_id ON crm_leads (converted_opportunity_id) WHERE converted_opportunity_id IS NOT NULL;
CREATE INDEX ix_crm_leads_created_at ON crm_leads (created_at);
CREATE INDEX ix_crm_leads_status ON crm_leads (status);
CREATE TABLE crm_loyalty_accounts (
	id TEXT COLLATE "C" NOT NULL, 
	version BIGINT NOT NULL, 
	custom JSON NOT NULL, 
	customer_id TEXT COLLATE "C" NOT NULL, 
	program_id TEXT COLLATE "C" NOT NULL, 
	opened_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	opened_at_tz TEXT NOT NULL, 
	tier TEXT COLLATE "C", 
	closed_at TIMESTAMP WITH TIME ZONE, 
	closed_at_tz TEXT, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_crm_loyalty_accounts_customer_id ON crm_loyalty_accounts (customer_id);
CREATE INDEX ix_crm_loyalty_accounts_program_id ON crm_loyalty_accounts (program_id);
CREATE INDEX ix_crm_loyalty_accounts_tier ON crm_loyalty_accounts (tier) WHERE tier IS NOT NULL;
CREATE TABLE crm_opportunities (
	id TEXT COLLATE "C" NOT NULL, 
	version BIGINT NOT NULL, 
	custom JSON NOT NULL, 
	account_id TEXT COLLATE "C" NOT NULL, 
	name TEXT COLLATE "C" NOT NULL, 
	amount NUMERIC NOT NULL, 
	amount_currency TEXT COLLATE "C" NOT NULL, 
	expected_close_date DATE NOT NULL, 
	probability DOUBLE PRECISION NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	stage TEXT COLLATE "C" NOT NULL, 
	probability_is_manual BOOLEAN NOT NULL, 
	lost_reason TEXT COLLATE "C", 
	last_open_stage TEXT COLLATE "C", 
	closed_at TIMESTAMP WITH TIME ZONE, 
	closed_at_tz TEXT, 
	owner TEXT COLLATE "C", 
	contact_id TEXT COLLATE "C", 
	campaign_id TEXT COLLATE "C", 
	PRIMARY KEY (id)
);
CREATE INDEX ix_crm_opportunities_account_id ON crm_opportunities (account_id);
CREATE INDEX ix_crm_opportunities_campaign_id ON crm_opportunities (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX ix_crm_opportunities_contact_id ON crm_opportunities (contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX ix_crm_opportunities_expected_close_date ON crm_opportunities (expected_close_date);
CREATE INDEX ix_crm_opportunities_stage ON crm_opportunities (stage);
CREATE TABLE crm_orders (
	id TEXT COLLATE "C" NOT NULL, 
	version BIGINT NOT NULL, 
	custom JSON NOT NULL, 
	customer_id TEXT COLLATE "C" NOT NULL, 
	placed_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	placed_at_tz TEXT NOT NULL, 
	amount NUMERIC NOT NULL, 
	amount_currency TEXT COLLATE "C" NOT NULL, 
	status TEXT COLLATE "C" NOT NULL, 
	campaign_id TEXT COLLATE "C", 
	channel TEXT COLLATE "C", 
	PRIMARY KEY (id)
);
CREATE INDEX ix_crm_orders_campaign_id ON crm_orders (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX ix_crm_orders_customer_id ON crm_orders (customer_id);
CREATE INDEX ix_crm_orders_placed_at ON crm_orders (placed_at);
CREATE TABLE crm_schema (
	version INTEGER NOT NULL
);
CREATE TABLE crm_survey_responses (
	id TEXT COLLATE "C" NOT NULL, 
	version BIGINT NOT NULL, 
	custom JSON NOT NULL, 
	customer_id TEXT COLLATE "C" NOT NULL, 
	kind TEXT COLLATE "C" NOT NULL, 
	score BIGINT NOT NULL, 
	answered_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	answered_at_tz TEXT NOT NULL, 
	scale BIGINT NOT NULL, 
	comment TEXT COLLATE "C", 
	ticket_id TEXT COLLATE "C", 
	PRIMARY KEY (id)
);
CREATE INDEX ix_crm_survey_responses_answered_at ON crm_survey_responses (answered_at);
CREATE INDEX ix_crm_survey_responses_customer_id ON crm_survey_responses (customer_id);
CREATE INDEX ix_crm_survey_responses_kind ON crm_survey_responses (kind);
CREATE INDEX ix_crm_survey_responses_ticket_id ON crm_survey_responses (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE TABLE crm_tickets (
	id TEXT COLLATE "C" NOT NULL, 
	version BIGINT NOT NULL, 
	custom JSON NOT NULL, 
	customer_id TEXT COLLATE "C" NOT NULL, 
	subject TEXT COLLATE "C" NOT NULL, 
	channel TEXT COLLATE "C" NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	created_at_tz TEXT NOT NULL, 
	priority TEXT COLLATE "C" NOT NULL, 
	status TEXT COLLATE "C" NOT NULL, 
	first_response_at TIMESTAMP WITH TIME ZONE, 
	first_response_at_tz TEXT, 
	resolved_at TIMESTAMP WITH TIME ZONE, 
	resolved_at_tz TEXT, 
	owner TEXT COLLATE "C", 
	contact_id TEXT COLLATE "C", 
	description TEXT COLLATE "C", 
	PRIMARY KEY (id)
);
CREATE INDEX ix_crm_tickets_contact_id ON crm_tickets (contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX ix_crm_tickets_created_at ON crm_tickets (created_at);
CREATE INDEX ix_crm_tickets_customer_id ON crm_tickets (customer_id);
CREATE INDEX ix_crm_tickets_status ON crm_tickets (status);
INSERT INTO crm_schema (version) VALUES (1);
