package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"mailroom/domain/mail"
)

// Messages stored before migration 0005 are indexed in the background,
// from Open on: their bodies need Go (mail.NewSearchDoc) to decode, which
// a migration cannot run. search_backfill.below is the progress, committed
// with each batch, so a restart resumes where the last run stopped. Newest
// first: recent mail is what people look for.

// backfillBatch is the messages indexed per write: small enough that the
// writer's other requests wait little behind one batch.
const backfillBatch = 32

// startBackfill runs the backfill until it is done or Close stops it.
func (s *Store) startBackfill() {
	ctx, cancel := context.WithCancel(context.Background())
	s.backfillStop, s.backfillDone = cancel, make(chan struct{})
	go func() {
		defer close(s.backfillDone)
		if err := s.backfill(ctx); err != nil && ctx.Err() == nil {
			s.log().Error("search index backfill stopped; it resumes at the next start", zap.Error(err))
		}
	}()
}

// stopBackfill stops the backfill and waits for it.
func (s *Store) stopBackfill() {
	if s.backfillStop != nil {
		s.backfillStop()
		<-s.backfillDone
	}
}

func (s *Store) log() *zap.Logger {
	if s.cfg.Logger == nil {
		return zap.NewNop()
	}
	return s.cfg.Logger
}

// backfill indexes the messages below search_backfill.below, a batch per
// write.
func (s *Store) backfill(ctx context.Context) error {
	var below int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT below FROM search_backfill`).Scan(&below); err != nil {
		return err
	}
	var left int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE id < ?`, below).Scan(&left); err != nil {
		return err
	}
	if left == 0 {
		return nil
	}
	log := s.log().With(zap.String("job", "search index backfill"))
	log.Info("indexing existing messages", zap.Int("messages", left))
	start, done, lastLog := time.Now(), 0, time.Now()
	for {
		n, next, err := s.backfillBatch(ctx, below)
		if err != nil {
			return err
		}
		if n == 0 {
			log.Info("done", zap.Int("messages", done), zap.Duration("took", time.Since(start)))
			return nil
		}
		done, below = done+n, next
		if time.Since(lastLog) > 5*time.Second {
			log.Info("progress", zap.Int("done", done), zap.Int("left", max(left-done, 0)))
			lastLog = time.Now()
		}
	}
}

// backfillBatch indexes up to backfillBatch messages below below and gives
// how many it read and the new bound.
func (s *Store) backfillBatch(ctx context.Context, below int64) (int, int64, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, from_addr, raw FROM messages WHERE id < ? ORDER BY id DESC LIMIT ?`,
		below, backfillBatch)
	if err != nil {
		return 0, 0, err
	}
	type doc struct {
		id  int64
		doc mail.SearchDoc
	}
	var docs []doc
	for rows.Next() {
		var id int64
		var from string
		var raw []byte
		if err := rows.Scan(&id, &from, &raw); err != nil {
			rows.Close()
			return 0, 0, err
		}
		docs = append(docs, doc{id, mail.NewSearchDoc(raw, from)})
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(docs) == 0 {
		return 0, 0, err
	}
	next := docs[len(docs)-1].id
	err = s.write(ctx, func(w *wtx) error {
		for _, d := range docs {
			// Deleted meanwhile: nothing to index. Indexed already (a
			// new message took a freed id): replace the row.
			var one int
			err := w.tx.QueryRowContext(w.ctx, `SELECT 1 FROM messages WHERE id = ?`, d.id).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if _, err := w.tx.ExecContext(w.ctx, `DELETE FROM message_search WHERE rowid = ?`, d.id); err != nil {
				return err
			}
			if err := s.indexMessage(w, d.id, d.doc); err != nil {
				return err
			}
		}
		_, err := w.tx.ExecContext(w.ctx, `UPDATE search_backfill SET below = ?`, next)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("index messages below %d: %w", below, err)
	}
	return len(docs), next, nil
}
