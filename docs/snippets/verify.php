<?php
// Verify a hookline webhook with PHP's hash_hmac (PHP 8+).
//
// Usage: WEBHOOK_SECRET=whsec_... php verify.php BODY_FILE HEADERS_JSON_FILE
// In your app, call verify_webhook() with file_get_contents('php://input') and
// getallheaders().

const TOLERANCE = 300; // seconds webhook-timestamp may differ from this host's clock
// hookline always sends webhook-signature. Set true only while MAAC itself still sends
// to this URL: its requests carry CrescLab-Signature alone, which has no timestamp.
const ALLOW_MAAC_ONLY = false;

/** Throws UnexpectedValueException unless the raw body was signed with the share secret. */
function verify_webhook(string $body, array $headers, string $secret): void
{
    $h = array_map('trim', array_change_key_case($headers, CASE_LOWER));
    $signatures = $h['webhook-signature'] ?? '';
    if ($signatures !== '') {
        // Standard Webhooks: signs id, timestamp and body; the timestamp stops replays.
        $id = $h['webhook-id'] ?? '';
        $stamp = $h['webhook-timestamp'] ?? '';
        if ($id === '' || !preg_match('/^[0-9]+$/', $stamp)) {
            throw new UnexpectedValueException('webhook-id or webhook-timestamp missing');
        }
        if (abs(time() - (int) $stamp) > TOLERANCE) {
            throw new UnexpectedValueException('webhook-timestamp outside the tolerance');
        }
        $key = base64_decode(preg_replace('/^whsec_/', '', $secret));
        $expected = base64_encode(hash_hmac('sha256', $id . '.' . $stamp . '.' . $body, $key, true));
        // One "v1,<base64>" per valid secret (several during a rotation): any may match.
        foreach (preg_split('/\s+/', $signatures) as $entry) {
            if (str_starts_with($entry, 'v1,') && hash_equals($expected, substr($entry, 3))) {
                return;
            }
        }
        throw new UnexpectedValueException('no webhook-signature matches');
    }
    if (!ALLOW_MAAC_ONLY) {
        throw new UnexpectedValueException('webhook-signature missing');
    }
    // MAAC's scheme: hex HMAC-SHA256 of the raw body, keyed by the whole secret text.
    $expected = hash_hmac('sha256', $body, $secret);
    if (!hash_equals($expected, strtolower($h['cresclab-signature'] ?? ''))) {
        throw new UnexpectedValueException('CrescLab-Signature does not match');
    }
}

if (PHP_SAPI === 'cli' && realpath($argv[0]) === __FILE__) {
    $body = file_get_contents($argv[1]);
    $headers = json_decode(file_get_contents($argv[2]), true);
    try {
        verify_webhook($body, $headers, getenv('WEBHOOK_SECRET'));
    } catch (UnexpectedValueException $e) {
        fwrite(STDERR, 'rejected: ' . $e->getMessage() . "\n");
        exit(1);
    }
    echo "verified\n";
}
