--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: actor_ids; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.actor_ids (
    actor text NOT NULL,
    device_id text NOT NULL
);


--
-- Name: audit; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit (
    id bigint NOT NULL,
    ts_ms bigint NOT NULL,
    "user" text DEFAULT ''::text NOT NULL,
    device text DEFAULT ''::text NOT NULL,
    action text NOT NULL,
    records text DEFAULT '[]'::text NOT NULL,
    details text DEFAULT '{}'::text NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    keyed boolean DEFAULT false NOT NULL
);


--
-- Name: audit_lock; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_lock (
    id bigint NOT NULL,
    CONSTRAINT audit_lock_id_check CHECK ((id = 1))
);


--
-- Name: changes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.changes (
    seq bigint NOT NULL,
    record text NOT NULL,
    kind text DEFAULT 'change'::text NOT NULL,
    hash bytea,
    bytes bytea NOT NULL,
    unit text NOT NULL,
    origin_device text,
    received_ms bigint NOT NULL
);


--
-- Name: console_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.console_sessions (
    token_hash bytea NOT NULL,
    user_id bigint NOT NULL,
    csrf text NOT NULL,
    created_ms bigint NOT NULL,
    expires_ms bigint NOT NULL
);


--
-- Name: device_health; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.device_health (
    device_id text NOT NULL,
    failures bigint DEFAULT 0 NOT NULL,
    first_failure_ms bigint,
    last_failure_ms bigint,
    last_failure_status bigint
);


--
-- Name: devices; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.devices (
    id text NOT NULL,
    user_id bigint NOT NULL,
    actor text NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    revoked boolean DEFAULT false NOT NULL,
    wipe_pending boolean DEFAULT false NOT NULL,
    status jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_ms bigint NOT NULL,
    last_seen_ms bigint DEFAULT 0 NOT NULL
);


--
-- Name: login_attempts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.login_attempts (
    username text NOT NULL,
    address text NOT NULL,
    failures bigint DEFAULT 0 NOT NULL,
    locked_until_ms bigint DEFAULT 0 NOT NULL,
    updated_ms bigint NOT NULL
);


--
-- Name: record_redactions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.record_redactions (
    record text NOT NULL,
    lineage bigint NOT NULL,
    field text NOT NULL,
    salt bytea NOT NULL,
    hash bytea NOT NULL
);


--
-- Name: records; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.records (
    id text NOT NULL,
    kind text NOT NULL,
    unit text NOT NULL,
    status text,
    doc bytea NOT NULL,
    heads bytea NOT NULL,
    name_key text DEFAULT ''::text NOT NULL,
    id_number text,
    findings jsonb DEFAULT '[]'::jsonb NOT NULL,
    updated_ms bigint NOT NULL,
    doc_len bigint DEFAULT 0 NOT NULL,
    lineage bigint DEFAULT 0 NOT NULL,
    restricted bigint DEFAULT 0 NOT NULL
);


--
-- Name: redacted_changes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.redacted_changes (
    record text NOT NULL,
    hash bytea NOT NULL,
    lineage bigint NOT NULL
);


--
-- Name: report_activity; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.report_activity (
    day text NOT NULL,
    "user" text NOT NULL,
    metric text NOT NULL,
    n bigint NOT NULL
);


--
-- Name: report_activity_month; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.report_activity_month (
    month text NOT NULL,
    "user" text NOT NULL,
    metric text NOT NULL,
    n bigint NOT NULL,
    max_day bigint NOT NULL
);


--
-- Name: report_citizens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.report_citizens (
    record text NOT NULL,
    unit text NOT NULL,
    status text NOT NULL,
    turns_14_on text,
    has_id_number bigint NOT NULL,
    card_issued_on text,
    card_expires_on text,
    card_due_age bigint,
    updated_ms bigint NOT NULL,
    id_notified bigint DEFAULT 0 NOT NULL,
    vneid_active bigint DEFAULT 0 NOT NULL
);


--
-- Name: report_dossiers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.report_dossiers (
    record text NOT NULL,
    kind text NOT NULL,
    procedure text NOT NULL,
    unit text NOT NULL,
    status text NOT NULL,
    outcome text NOT NULL,
    period_on text NOT NULL,
    filed_on text,
    due_on text,
    decided_on text,
    decision_days bigint,
    first_seen_ms bigint NOT NULL,
    updated_ms bigint NOT NULL,
    citizen text,
    registration text,
    expires_on text
);


--
-- Name: report_findings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.report_findings (
    record text NOT NULL,
    code text NOT NULL,
    kind text NOT NULL,
    unit text NOT NULL,
    first_seen_on text NOT NULL,
    resolved_on text
);


--
-- Name: report_record_origin; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.report_record_origin (
    record text NOT NULL,
    creator text NOT NULL,
    last_editor text NOT NULL
);


--
-- Name: review_actors; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.review_actors (
    user_id bigint NOT NULL,
    device_id text NOT NULL
);


--
-- Name: review_index; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.review_index (
    record text NOT NULL,
    kind text NOT NULL,
    unit text NOT NULL,
    status text,
    id_number text,
    name_key text,
    date_of_birth text,
    citizen_id text,
    procedure text,
    address text,
    address_unit text,
    from_date text,
    to_date text,
    merged_into text,
    captured_on text
);


--
-- Name: review_items; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.review_items (
    id bigint NOT NULL,
    type text NOT NULL,
    status text DEFAULT 'open'::text NOT NULL,
    key text NOT NULL,
    signature text NOT NULL,
    kind text NOT NULL,
    unit text NOT NULL,
    records jsonb DEFAULT '[]'::jsonb NOT NULL,
    field text,
    candidates jsonb DEFAULT '[]'::jsonb NOT NULL,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_ms bigint NOT NULL,
    updated_ms bigint NOT NULL,
    resolved_by text,
    resolved_ms bigint,
    resolution jsonb
);


--
-- Name: review_items_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.review_items ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.review_items_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: review_links; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.review_links (
    record text NOT NULL,
    item bigint NOT NULL
);


--
-- Name: review_members; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.review_members (
    household text NOT NULL,
    citizen text NOT NULL,
    relationship text
);


--
-- Name: review_numbers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.review_numbers (
    number text NOT NULL,
    record text NOT NULL
);


--
-- Name: review_queue; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.review_queue (
    record text NOT NULL,
    queued_ms bigint NOT NULL
);


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version bigint NOT NULL,
    applied_ms bigint NOT NULL
);


--
-- Name: sensitive_values; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sensitive_values (
    record text NOT NULL,
    field text NOT NULL,
    value text NOT NULL,
    written_by text NOT NULL,
    device text NOT NULL,
    updated_ms bigint NOT NULL
);


--
-- Name: sensitive_writes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sensitive_writes (
    id text NOT NULL,
    record text NOT NULL,
    field text NOT NULL,
    value text,
    written_by text NOT NULL,
    device text NOT NULL,
    written_ms bigint NOT NULL,
    applied_ms bigint NOT NULL,
    redacted bigint DEFAULT 0 NOT NULL
);


--
-- Name: tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tokens (
    hash bytea NOT NULL,
    device_id text NOT NULL,
    user_id bigint NOT NULL,
    created_ms bigint NOT NULL,
    expires_ms bigint NOT NULL,
    ended boolean DEFAULT false NOT NULL
);


--
-- Name: unit_seq; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.unit_seq (
    unit text NOT NULL,
    next bigint DEFAULT 1 NOT NULL
);


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id bigint NOT NULL,
    username text NOT NULL,
    password_hash text NOT NULL,
    role text NOT NULL,
    units jsonb DEFAULT '[]'::jsonb NOT NULL,
    disabled boolean DEFAULT false NOT NULL,
    failed_logins bigint DEFAULT 0 NOT NULL,
    locked_until_ms bigint DEFAULT 0 NOT NULL,
    created_ms bigint NOT NULL,
    display_name text,
    CONSTRAINT users_display_name_check CHECK (((length(display_name) >= 1) AND (length(display_name) <= 100)))
);


--
-- Name: users_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.users ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.users_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: actor_ids actor_ids_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.actor_ids
    ADD CONSTRAINT actor_ids_pkey PRIMARY KEY (actor);


--
-- Name: audit_lock audit_lock_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_lock
    ADD CONSTRAINT audit_lock_pkey PRIMARY KEY (id);


--
-- Name: audit audit_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit
    ADD CONSTRAINT audit_pkey PRIMARY KEY (id);


--
-- Name: changes changes_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.changes
    ADD CONSTRAINT changes_hash_key UNIQUE (hash);


--
-- Name: changes changes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.changes
    ADD CONSTRAINT changes_pkey PRIMARY KEY (unit, seq);


--
-- Name: console_sessions console_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT console_sessions_pkey PRIMARY KEY (token_hash);


--
-- Name: device_health device_health_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.device_health
    ADD CONSTRAINT device_health_pkey PRIMARY KEY (device_id);


--
-- Name: devices devices_actor_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.devices
    ADD CONSTRAINT devices_actor_key UNIQUE (actor);


--
-- Name: devices devices_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.devices
    ADD CONSTRAINT devices_pkey PRIMARY KEY (id);


--
-- Name: login_attempts login_attempts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.login_attempts
    ADD CONSTRAINT login_attempts_pkey PRIMARY KEY (username, address);


--
-- Name: record_redactions record_redactions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.record_redactions
    ADD CONSTRAINT record_redactions_pkey PRIMARY KEY (record, lineage, hash);


--
-- Name: records records_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.records
    ADD CONSTRAINT records_pkey PRIMARY KEY (id);


--
-- Name: redacted_changes redacted_changes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.redacted_changes
    ADD CONSTRAINT redacted_changes_pkey PRIMARY KEY (record, hash);


--
-- Name: report_activity_month report_activity_month_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.report_activity_month
    ADD CONSTRAINT report_activity_month_pkey PRIMARY KEY (month, "user", metric);


--
-- Name: report_activity report_activity_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.report_activity
    ADD CONSTRAINT report_activity_pkey PRIMARY KEY (day, "user", metric);


--
-- Name: report_citizens report_citizens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.report_citizens
    ADD CONSTRAINT report_citizens_pkey PRIMARY KEY (record);


--
-- Name: report_dossiers report_dossiers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.report_dossiers
    ADD CONSTRAINT report_dossiers_pkey PRIMARY KEY (record);


--
-- Name: report_findings report_findings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.report_findings
    ADD CONSTRAINT report_findings_pkey PRIMARY KEY (record, code);


--
-- Name: report_record_origin report_record_origin_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.report_record_origin
    ADD CONSTRAINT report_record_origin_pkey PRIMARY KEY (record);


--
-- Name: review_actors review_actors_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_actors
    ADD CONSTRAINT review_actors_pkey PRIMARY KEY (user_id);


--
-- Name: review_index review_index_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_index
    ADD CONSTRAINT review_index_pkey PRIMARY KEY (record);


--
-- Name: review_items review_items_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_items
    ADD CONSTRAINT review_items_pkey PRIMARY KEY (id);


--
-- Name: review_links review_links_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_links
    ADD CONSTRAINT review_links_pkey PRIMARY KEY (record, item);


--
-- Name: review_members review_members_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_members
    ADD CONSTRAINT review_members_pkey PRIMARY KEY (citizen, household);


--
-- Name: review_numbers review_numbers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_numbers
    ADD CONSTRAINT review_numbers_pkey PRIMARY KEY (number, record);


--
-- Name: review_queue review_queue_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_queue
    ADD CONSTRAINT review_queue_pkey PRIMARY KEY (record);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: sensitive_values sensitive_values_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensitive_values
    ADD CONSTRAINT sensitive_values_pkey PRIMARY KEY (record, field);


--
-- Name: sensitive_writes sensitive_writes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensitive_writes
    ADD CONSTRAINT sensitive_writes_pkey PRIMARY KEY (id);


--
-- Name: tokens tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tokens
    ADD CONSTRAINT tokens_pkey PRIMARY KEY (hash);


--
-- Name: unit_seq unit_seq_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.unit_seq
    ADD CONSTRAINT unit_seq_pkey PRIMARY KEY (unit);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: users users_username_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_username_key UNIQUE (username);


--
-- Name: audit_device; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_device ON public.audit USING btree (device);


--
-- Name: audit_ts; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_ts ON public.audit USING btree (ts_ms);


--
-- Name: audit_user; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_user ON public.audit USING btree ("user");


--
-- Name: changes_record_unit_seq_kind; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX changes_record_unit_seq_kind ON public.changes USING btree (record, unit, seq, kind);


--
-- Name: console_sessions_user; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX console_sessions_user ON public.console_sessions USING btree (user_id);


--
-- Name: devices_user; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX devices_user ON public.devices USING btree (user_id);


--
-- Name: login_attempts_updated; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX login_attempts_updated ON public.login_attempts USING btree (updated_ms);


--
-- Name: records_id_number; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX records_id_number ON public.records USING btree (id_number);


--
-- Name: records_name_key; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX records_name_key ON public.records USING btree (name_key);


--
-- Name: records_pull; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX records_pull ON public.records USING btree (id, kind, unit, doc_len, restricted);


--
-- Name: records_unit; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX records_unit ON public.records USING btree (unit);


--
-- Name: report_citizens_card; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX report_citizens_card ON public.report_citizens USING btree (unit, card_expires_on);


--
-- Name: report_citizens_coverage; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX report_citizens_coverage ON public.report_citizens USING btree (unit, status, turns_14_on, has_id_number, id_notified, vneid_active, card_issued_on, card_expires_on, card_due_age);


--
-- Name: report_dossiers_citizen; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX report_dossiers_citizen ON public.report_dossiers USING btree (citizen);


--
-- Name: report_dossiers_citizen_applied; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX report_dossiers_citizen_applied ON public.report_dossiers USING btree (citizen, kind, outcome, period_on);


--
-- Name: report_dossiers_expiry; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX report_dossiers_expiry ON public.report_dossiers USING btree (expires_on);


--
-- Name: report_dossiers_progress; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX report_dossiers_progress ON public.report_dossiers USING btree (unit, period_on, kind, procedure, outcome, decision_days, due_on, decided_on, filed_on);


--
-- Name: report_dossiers_registration; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX report_dossiers_registration ON public.report_dossiers USING btree (registration);


--
-- Name: report_dossiers_unit_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX report_dossiers_unit_status ON public.report_dossiers USING btree (unit, kind, status);


--
-- Name: report_findings_unit_code_days; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX report_findings_unit_code_days ON public.report_findings USING btree (unit, code, first_seen_on, resolved_on);


--
-- Name: review_index_citizen; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX review_index_citizen ON public.review_index USING btree (citizen_id) WHERE (citizen_id IS NOT NULL);


--
-- Name: review_index_id_number; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX review_index_id_number ON public.review_index USING btree (id_number) WHERE (id_number IS NOT NULL);


--
-- Name: review_index_merged_into; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX review_index_merged_into ON public.review_index USING btree (merged_into) WHERE (merged_into IS NOT NULL);


--
-- Name: review_index_person; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX review_index_person ON public.review_index USING btree (name_key, date_of_birth, unit);


--
-- Name: review_items_key_signature; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX review_items_key_signature ON public.review_items USING btree (key, signature);


--
-- Name: review_items_open_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX review_items_open_key ON public.review_items USING btree (key) WHERE (status = 'open'::text);


--
-- Name: review_items_queue; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX review_items_queue ON public.review_items USING btree (status, unit, created_ms);


--
-- Name: review_members_household; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX review_members_household ON public.review_members USING btree (household);


--
-- Name: review_numbers_record; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX review_numbers_record ON public.review_numbers USING btree (record);


--
-- Name: sensitive_writes_record; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sensitive_writes_record ON public.sensitive_writes USING btree (record, applied_ms);


--
-- Name: tokens_device; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tokens_device ON public.tokens USING btree (device_id);


--
-- Name: tokens_user; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tokens_user ON public.tokens USING btree (user_id);


--
-- Name: actor_ids actor_ids_device_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.actor_ids
    ADD CONSTRAINT actor_ids_device_id_fkey FOREIGN KEY (device_id) REFERENCES public.devices(id);


--
-- Name: console_sessions console_sessions_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT console_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: device_health device_health_device_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.device_health
    ADD CONSTRAINT device_health_device_id_fkey FOREIGN KEY (device_id) REFERENCES public.devices(id);


--
-- Name: devices devices_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.devices
    ADD CONSTRAINT devices_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: review_actors review_actors_device_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_actors
    ADD CONSTRAINT review_actors_device_id_fkey FOREIGN KEY (device_id) REFERENCES public.devices(id);


--
-- Name: review_actors review_actors_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_actors
    ADD CONSTRAINT review_actors_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: review_links review_links_item_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_links
    ADD CONSTRAINT review_links_item_fkey FOREIGN KEY (item) REFERENCES public.review_items(id);


--
-- Name: tokens tokens_device_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tokens
    ADD CONSTRAINT tokens_device_id_fkey FOREIGN KEY (device_id) REFERENCES public.devices(id);


--
-- Name: tokens tokens_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tokens
    ADD CONSTRAINT tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- PostgreSQL database dump complete
--


