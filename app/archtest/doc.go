// Package archtest enforces Mailroom's dependency rule. Its test lists every
// package of the module with `go list` and fails when one imports something
// its layer may not (the house style's table: domain is pure, ports sees
// only domain, adapters do not import each other except the shared adapter
// packages, which import no server, store or client; stores import no
// adapter at all; ui never sees adapters or gioui.org/app; nothing imports
// app), when a package lacks a "Package <name>" doc comment, or when the top
// level of the repository holds something the layout does not name. It has
// no code of its own outside tests.
package archtest
