package model

import "mailroom/ports"

// Default ports of a Mailroom server.
const (
	DefaultSMTPPort  = 8025
	DefaultInboxPort = 9999
)

// SettingsFile is the settings file's name inside the data directory.
const SettingsFile = "settings.json"

// Settings are what the client remembers between runs. The password is
// never among them.
type Settings struct {
	Host        string `json:"host,omitempty"`
	SMTPPort    int    `json:"smtp_port,omitempty"`
	InboxPort   int    `json:"inbox_port,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Username    string `json:"username,omitempty"`
	// Dark is the theme chosen in settings; nil follows the app's default.
	Dark *bool `json:"dark,omitempty"`
	// NoNotify turns new-mail notifications off (they are on by default).
	NoNotify bool `json:"no_notify,omitempty"`
}

// Endpoint is the server the settings point at.
func (s Settings) Endpoint() ports.Endpoint {
	ep := ports.Endpoint{Host: s.Host, SMTPPort: s.SMTPPort, InboxPort: s.InboxPort, Fingerprint: s.Fingerprint}
	if ep.SMTPPort == 0 {
		ep.SMTPPort = DefaultSMTPPort
	}
	if ep.InboxPort == 0 {
		ep.InboxPort = DefaultInboxPort
	}
	return ep
}

// Trusted reports whether a server has been chosen and its certificate pinned.
func (s Settings) Trusted() bool { return s.Host != "" && s.Fingerprint != "" }

// LoadSettings reads dir/settings.json. A missing file gives zero settings
// and no error.
func LoadSettings(dir string) (Settings, error) {
	var s Settings
	_, err := readJSON(dir, SettingsFile, &s)
	return s, err
}

// SaveSettings writes dir/settings.json (mode 0600) through a temporary
// file and a rename, so a crash never leaves half a file.
func SaveSettings(dir string, s Settings) error { return writeJSON(dir, SettingsFile, s) }
