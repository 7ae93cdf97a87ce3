-- The audit log's head is kept by the database with every append (one
-- statement less per change than writing it from the application).
CREATE FUNCTION audit_log_keep_head() RETURNS trigger AS $$
BEGIN
    INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, NEW.id, NEW.hash)
        ON CONFLICT (id) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_head AFTER INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_keep_head();
