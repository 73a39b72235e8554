// Verify a hookline webhook with Go's standard library only.
//
// Usage: WEBHOOK_SECRET=whsec_... go run verify.go BODY_FILE HEADERS_JSON_FILE
// In an http.Handler, call verify() with io.ReadAll(r.Body) and r.Header.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

const tolerance = 300 // seconds webhook-timestamp may differ from this host's clock

// hookline always sends webhook-signature. Set true only while MAAC itself still sends
// to this URL: its requests carry CrescLab-Signature alone, which has no timestamp.
const allowMAACOnly = false

// verify returns an error unless the raw body was signed with the share secret.
func verify(body []byte, header http.Header, secret string) error {
	if signatures := header.Get("webhook-signature"); signatures != "" {
		// Standard Webhooks: signs id, timestamp and body; the timestamp stops replays.
		id, stamp := header.Get("webhook-id"), header.Get("webhook-timestamp")
		signedAt, err := strconv.ParseInt(stamp, 10, 64)
		if id == "" || err != nil {
			return errors.New("webhook-id or webhook-timestamp missing")
		}
		if age := time.Now().Unix() - signedAt; age > tolerance || age < -tolerance {
			return errors.New("webhook-timestamp outside the tolerance")
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if err != nil {
			return errors.New("the secret is not whsec_ followed by base64")
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + stamp + "."))
		mac.Write(body)
		expected := mac.Sum(nil)
		// One "v1,<base64>" per valid secret (several during a rotation): any may match.
		for _, entry := range strings.Fields(signatures) {
			if strings.HasPrefix(entry, "v1,") {
				given, err := base64.StdEncoding.DecodeString(entry[3:])
				if err == nil && hmac.Equal(given, expected) {
					return nil
				}
			}
		}
		return errors.New("no webhook-signature matches")
	}
	if !allowMAACOnly {
		return errors.New("webhook-signature missing")
	}
	// MAAC's scheme: hex HMAC-SHA256 of the raw body, keyed by the whole secret text.
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	given, err := hex.DecodeString(strings.TrimSpace(header.Get("CrescLab-Signature")))
	if err != nil || !hmac.Equal(given, mac.Sum(nil)) {
		return errors.New("CrescLab-Signature does not match")
	}
	return nil
}

func main() {
	body, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	raw, err := os.ReadFile(os.Args[2])
	if err != nil {
		panic(err)
	}
	var fields map[string]string
	if err := json.Unmarshal(raw, &fields); err != nil {
		panic(err)
	}
	header := http.Header{}
	for name, value := range fields {
		header.Set(name, value)
	}
	if err := verify(body, header, os.Getenv("WEBHOOK_SECRET")); err != nil {
		fmt.Fprintln(os.Stderr, "rejected:", err)
		os.Exit(1)
	}
	fmt.Println("verified")
}
