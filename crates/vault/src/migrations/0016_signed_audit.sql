-- Issue 16, item 4: every audit entry is signed (Ed25519) by the key of the member whose session
-- wrote it: `signer` is their keyring slot, `signature` signs the entry's chain hash. Entries
-- written before signing began (a vault upgraded from format 1) have neither; once one entry is
-- signed, every later one must be. The append-only triggers stay as they are.
ALTER TABLE audit ADD COLUMN signer TEXT;
ALTER TABLE audit ADD COLUMN signature BLOB;
