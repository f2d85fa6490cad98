package vault

import (
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestDecodeTokenMissingSignature: a JWT cut before its signature is an
// error naming the part, not an opaque token.
func TestDecodeTokenMissingSignature(t *testing.T) {
	full := signedJWT(t, jwt.MapClaims{"sub": "x"})
	cut := full[:strings.LastIndex(full, ".")]
	_, err := DecodeToken(cut)
	var de *DecodeError
	if !errors.As(err, &de) || de.Part != "signature" || de.Index != 3 {
		t.Fatalf("DecodeToken(cut) = %v, want a signature DecodeError", err)
	}
	if strings.Contains(err.Error(), cut) {
		t.Fatal("the error quotes the token")
	}
}
