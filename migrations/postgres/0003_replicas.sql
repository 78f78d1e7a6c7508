-- +goose Up
-- Which replica (host and data dir) has claimed a job's submission or a
-- delivery's attempt; see migrations/sqlite/0012_claims.sql.
ALTER TABLE jobs ADD COLUMN submit_claimed_by text;
ALTER TABLE hook_deliveries ADD COLUMN claimed_by text;

-- Every job change a browser sees (each bumps the job's seq) is notified
-- to every replica, as "user:seq:job" (":deleted" for a deletion, whose
-- seq is the counter's, bumped just before), from the transaction that
-- makes it: PostgreSQL delivers it only on commit, in commit order.
-- +goose StatementBegin
CREATE FUNCTION notify_job_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('job_changes', OLD.user_id || ':' ||
            (SELECT value FROM counters WHERE name = 'seq') || ':' || OLD.id || ':deleted');
        RETURN OLD;
    END IF;
    PERFORM pg_notify('job_changes', NEW.user_id || ':' || NEW.seq || ':' || NEW.id);
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
    FOR EACH ROW EXECUTE FUNCTION notify_job_change();
CREATE TRIGGER jobs_notify_update AFTER UPDATE OF seq ON jobs
    FOR EACH ROW WHEN (OLD.seq IS DISTINCT FROM NEW.seq) EXECUTE FUNCTION notify_job_change();
CREATE TRIGGER jobs_notify_delete AFTER DELETE ON jobs
    FOR EACH ROW EXECUTE FUNCTION notify_job_change();

-- +goose Down
DROP TRIGGER jobs_notify_delete ON jobs;
DROP TRIGGER jobs_notify_update ON jobs;
DROP TRIGGER jobs_notify_insert ON jobs;
DROP FUNCTION notify_job_change();
ALTER TABLE hook_deliveries DROP COLUMN claimed_by;
ALTER TABLE jobs DROP COLUMN submit_claimed_by;
