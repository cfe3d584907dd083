// Package model holds the client's pure view state and the rules behind it:
// relative dates, the one table that turns errors into words, recipient
// parsing, reply subjects, HTML-to-text, message-list paging and the settings
// file. Nothing here draws or touches the network, so it is tested with plain
// unit tests.
package model
