-- Issue 16, item 4: signed checkpoints of the audit log ("the log held entry `seq`, whose chain
-- hash was `hash`"), each signed (Ed25519) by the member who took it. Copies live beside backup
-- archives and in files auditors export; this table lets the Audit panel list them and carries
-- them inside every backup. Metadata only: a number, a hash, a time, a slot and a username.
CREATE TABLE audit_checkpoints (
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    signer TEXT NOT NULL,
    actor TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (seq, signature)
);
