//go:build !unix

package main

// lockDataDir only makes the directory where flock is not available: start
// the two processes of two-process mode one after the other there.
func lockDataDir(cfg config, warn func(string)) (unlock func(), err error) {
	if err := ensureDataDir(cfg, warn); err != nil {
		return nil, err
	}
	return func() {}, nil
}
