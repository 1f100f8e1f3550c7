package httpx

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/apperr"
)

// ErrIdempotencyKey refuses an Idempotency-Key header that is longer than
// 255 characters or holds anything but visible ASCII.
var ErrIdempotencyKey = apperr.Malformed("invalid_idempotency_key", "Der Idempotency-Key darf 1 bis 255 sichtbare ASCII-Zeichen lang sein.",
	"The Idempotency-Key must be 1 to 255 visible ASCII characters.")

// IdempotencyKey returns the request's Idempotency-Key header: "" when it
// has none (or an empty one), ErrIdempotencyKey when it is not 1 to 255
// visible ASCII characters.
func IdempotencyKey(c *gin.Context) (string, error) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		return "", nil
	}
	if len(key) > 255 || strings.IndexFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
		return "", ErrIdempotencyKey
	}
	return key, nil
}
