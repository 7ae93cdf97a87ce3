-- The audit log's head is kept by the database with every append (one
-- statement less per change than writing it from the application).
CREATE TRIGGER audit_log_head AFTER INSERT ON audit_log
BEGIN
    INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, NEW.id, NEW.hash)
        ON CONFLICT (id) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash;
END;
