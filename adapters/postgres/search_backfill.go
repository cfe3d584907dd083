package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"mailroom/domain/mail"
)

// Messages stored before migration 0004 have a NULL search vector, and
// those indexed by 0004's to_tsvector have search_version 1 (migration
// 0005); copied in by mailroomd's copydb, NULL too. The store indexes them
// in the background from Open on (decoding bodies needs Go), newest first,
// a batch per transaction. The rows still to do are the progress: a restart
// resumes, and hosts sharing the database split the work (SKIP LOCKED)
// instead of doing it twice.

// backfillBatch is the messages indexed per transaction.
const backfillBatch = 32

// backfillSQL sets message $1's search vector to $2, tsVector's value (sent
// in tsvector's binary format).
const backfillSQL = `UPDATE messages SET search = $2::tsvector, has_files = $3, search_version = 2 WHERE id = $1`

// unindexed is the rows the backfill has to do, as messages_unindexed
// (migration 0005) indexes them.
const unindexed = `(search IS NULL OR search_version < 2)`

// startBackfill runs the backfill until it is done or Close.
func (s *Store) startBackfill(log *zap.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	s.backfillDone = make(chan struct{})
	go func() {
		<-s.closing
		cancel()
	}()
	go func() {
		defer close(s.backfillDone)
		if err := s.backfill(ctx, log); err != nil && ctx.Err() == nil {
			log.Error("search index backfill stopped; it resumes at the next start", zap.Error(s.red.wrap("backfill", err)))
		}
	}()
}

func (s *Store) backfill(ctx context.Context, log *zap.Logger) error {
	var left int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE `+unindexed).Scan(&left); err != nil || left == 0 {
		return err
	}
	log = log.With(zap.String("job", "search index backfill"))
	log.Info("indexing existing messages", zap.Int("messages", left))
	start, done, lastLog := time.Now(), 0, time.Now()
	for {
		n, err := s.backfillBatch(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			log.Info("done", zap.Int("messages", done), zap.Duration("took", time.Since(start)))
			return nil
		}
		done += n
		if time.Since(lastLog) > 5*time.Second {
			log.Info("progress", zap.Int("done", done), zap.Int("left", max(left-done, 0)))
			lastLog = time.Now()
		}
	}
}

// backfillBatch indexes up to backfillBatch unindexed messages in one
// transaction and gives how many.
func (s *Store) backfillBatch(ctx context.Context) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, from_addr, raw FROM messages WHERE `+unindexed+`
ORDER BY id DESC LIMIT $1 FOR UPDATE SKIP LOCKED`, backfillBatch)
		if err != nil {
			return err
		}
		type one struct {
			id  int64
			doc mail.SearchDoc
		}
		var docs []one
		for rows.Next() {
			var id int64
			var from string
			var raw []byte
			if err := rows.Scan(&id, &from, &raw); err != nil {
				rows.Close()
				return err
			}
			docs = append(docs, one{id, mail.NewSearchDoc(raw, from)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range docs {
			if _, err := tx.Exec(ctx, backfillSQL, d.id, tsVector(d.doc), d.doc.Attachment); err != nil {
				return err
			}
		}
		n = len(docs)
		return nil
	})
	return n, err
}
