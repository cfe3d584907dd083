package sqlite

import (
	"context"
	"testing"

	"mailroom/domain/mail"
)

// BenchmarkUIDs is an IMAP SELECT's UID map of a 100,000-entry folder: one
// range scan of entries_folder_uid.
func BenchmarkUIDs(b *testing.B) {
	const n = 100_000
	s := openAt(b, dbPath(b), Config{})
	owner := mkAccount(b, s, "owner")
	other := mkAccount(b, s, "other")
	bulkMailboxSized(b, s, other.ID, n/10, 64) // noise from another owner
	bulkMailboxSized(b, s, owner.ID, n, 64)
	ctx := context.Background()
	cpu := startCPU()
	for b.Loop() {
		u, err := s.UIDs(ctx, owner.ID, mail.Inbox)
		if err != nil || len(u) != n {
			b.Fatalf("UIDs = %d, %v", len(u), err)
		}
	}
	cpu.report(b)
}

// BenchmarkMetasByUID is a FETCH of 50 envelopes by UID from the same folder.
func BenchmarkMetasByUID(b *testing.B) {
	const n = 100_000
	s := openAt(b, dbPath(b), Config{})
	owner := mkAccount(b, s, "owner")
	bulkMailboxSized(b, s, owner.ID, n, 64)
	uids := make([]uint32, 50)
	for i := range uids {
		uids[i] = uint32(n - 50 + i + 1)
	}
	ctx := context.Background()
	for b.Loop() {
		m, err := s.MetasByUID(ctx, owner.ID, mail.Inbox, uids)
		if err != nil || len(m) != 50 {
			b.Fatalf("MetasByUID = %d, %v", len(m), err)
		}
	}
}
