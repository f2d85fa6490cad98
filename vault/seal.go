package vault

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/argon2"
)

// Key modes kept in meta under "kdf".
const (
	kdfKeyFile  = "keyfile"
	kdfArgon2id = "argon2id"
)

// Meta keys.
const (
	metaKDF       = "kdf"
	metaSalt      = "salt"
	metaArgon2    = "argon2"
	metaKeyCheck  = "key_check"
	keyCheckAD    = "meta/key_check"
	keyCheckPlain = "tokentop key check v1"
)

const (
	keySize  = 32 // AES-256
	saltSize = 16
)

// argon2Params are the argon2id settings a passphrase vault was made with;
// they are stored so that a later build with other defaults still opens it.
type argon2Params struct {
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	KeyLen    uint32 `json:"key_len"`
}

// defaultArgon2 is what golang.org/x/crypto/argon2 recommends for IDKey
// (time 1, 64 MiB), with four lanes.
var defaultArgon2 = argon2Params{Time: 1, MemoryKiB: 64 * 1024, Threads: 4, KeyLen: keySize}

// newKey makes the key of a new vault and the meta rows describing it:
// argon2id over Options.Passphrase when one is given, else the key file
// (created when missing).
func newKey(opts Options) (cipher.AEAD, map[string][]byte, error) {
	meta := map[string][]byte{}
	var key []byte
	if opts.Passphrase != "" {
		salt := make([]byte, saltSize)
		if _, err := rand.Read(salt); err != nil {
			return nil, nil, err
		}
		params, err := json.Marshal(defaultArgon2)
		if err != nil {
			return nil, nil, err
		}
		key = deriveKey(opts.Passphrase, salt, defaultArgon2)
		meta[metaKDF] = []byte(kdfArgon2id)
		meta[metaSalt] = salt
		meta[metaArgon2] = params
	} else {
		var err error
		if key, err = loadOrCreateKeyFile(opts.KeyFile); err != nil {
			return nil, nil, err
		}
		warnKeyFileMode(opts)
		meta[metaKDF] = []byte(kdfKeyFile)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, nil, err
	}
	check, err := seal(aead, []byte(keyCheckPlain), keyCheckAD)
	if err != nil {
		return nil, nil, err
	}
	meta[metaKeyCheck] = check
	return aead, meta, nil
}

// unlock derives or reads the key an existing vault's meta asks for and
// proves it against the key check.
func unlock(meta map[string][]byte, opts Options) (cipher.AEAD, error) {
	var key []byte
	switch mode := string(meta[metaKDF]); mode {
	case kdfKeyFile:
		var err error
		if key, err = readKeyFile(opts.KeyFile); err != nil {
			return nil, err
		}
		warnKeyFileMode(opts)
	case kdfArgon2id:
		pass := opts.Passphrase
		if pass == "" {
			if opts.PromptPassphrase == nil {
				return nil, ErrPassphraseNeeded
			}
			var err error
			if pass, err = opts.PromptPassphrase(); err != nil {
				return nil, fmt.Errorf("read passphrase: %w", err)
			}
			if pass == "" {
				return nil, ErrPassphraseNeeded
			}
		}
		var params argon2Params
		if err := json.Unmarshal(meta[metaArgon2], &params); err != nil {
			return nil, fmt.Errorf("argon2 parameters: %w: %v", ErrNotVault, err)
		}
		// Bounds keep a tampered meta row from asking for absurd work or memory.
		if params.Time < 1 || params.Time > 64 || params.MemoryKiB < 8 || params.MemoryKiB > 4<<20 ||
			params.Threads < 1 || params.KeyLen != keySize || len(meta[metaSalt]) < 8 {
			return nil, fmt.Errorf("argon2 parameters out of range: %w", ErrNotVault)
		}
		key = deriveKey(pass, meta[metaSalt], params)
	case "":
		return nil, fmt.Errorf("vault has no key metadata: %w", ErrNotVault)
	default:
		return nil, fmt.Errorf("unknown key mode %q: %w", mode, ErrNotVault)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if err := checkKey(aead, meta[metaKeyCheck]); err != nil {
		return nil, err
	}
	return aead, nil
}

// checkKey opens the key-check value: a wrong key fails here, and is
// reported as such rather than as garbage tokens later.
func checkKey(aead cipher.AEAD, sealed []byte) error {
	plain, err := unseal(aead, sealed, keyCheckAD)
	if err != nil || subtle.ConstantTimeCompare(plain, []byte(keyCheckPlain)) != 1 {
		return ErrWrongKey
	}
	return nil
}

// verifyStoredKey checks the store's key against the key check in the database.
func (s *Store) verifyStoredKey(ctx context.Context) error {
	var sealed []byte
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", metaKeyCheck).Scan(&sealed)
	if err != nil {
		return fmt.Errorf("read key check: %w", err)
	}
	return checkKey(s.aead, sealed)
}

func deriveKey(passphrase string, salt []byte, p argon2Params) []byte {
	return argon2.IDKey([]byte(passphrase), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// readKeyFile reads the 32-byte key of a key-file vault.
func readKeyFile(path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: no key file configured", ErrKeyFile)
	}
	key, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named below, once
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrKeyFile, path, err)
	}
	if len(key) != keySize {
		return nil, fmt.Errorf("%w: %s has %d bytes, want %d", ErrKeyFile, path, len(key), keySize)
	}
	return key, nil
}

// loadOrCreateKeyFile returns the key in path, creating it (32 random bytes,
// 0600, folder 0700) when it does not exist. Several vaults may share a key file.
func loadOrCreateKeyFile(path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: no key file configured", ErrKeyFile)
	}
	if _, err := os.Stat(path); err == nil {
		return readKeyFile(path)
	}
	if err := ensureDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("create key folder: %w", err)
	}
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	// Written aside and linked into place whole: another process creating
	// it at the same time never reads a short key.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new-*") // 0600
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSynced(tmp, key, nil); err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	err = linkNoReplace(tmp.Name(), path)
	if errors.Is(err, fs.ErrExist) {
		return readKeyFile(path) // another process created it meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	return key, nil
}

// warnKeyFileMode warns, as ssh does for private keys (ssh refuses; we
// warn), when the key file is open to group or others.
func warnKeyFileMode(opts Options) {
	if opts.Warn == nil {
		return
	}
	fi, err := os.Stat(opts.KeyFile)
	if err != nil {
		return
	}
	mode := fi.Mode().Perm()
	if mode&0o077 == 0 {
		return
	}
	what := "readable"
	if mode&0o044 == 0 {
		what = "writable"
	}
	opts.Warn(fmt.Sprintf("key file %s is %s by others (mode %04o): run chmod 600 %s", opts.KeyFile, what, mode, opts.KeyFile))
}

// seal encrypts plain with a fresh random nonce; the result is nonce||ciphertext.
// ad binds the value to its place (row and column).
func seal(aead cipher.AEAD, plain []byte, ad string) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, []byte(ad)), nil
}

// unseal opens a value made by seal for the same ad.
func unseal(aead cipher.AEAD, sealed []byte, ad string) ([]byte, error) {
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("unseal %s: %w", ad, ErrSealBroken)
	}
	ns := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:ns], sealed[ns:], []byte(ad))
	if err != nil {
		return nil, fmt.Errorf("unseal %s: %w", ad, ErrSealBroken)
	}
	return plain, nil
}

// sessionAD is the associated data of a session's sealed column.
func sessionAD(id int64, column string) string { return fmt.Sprintf("sessions/%d/%s", id, column) }

// recoveryAD is the associated data of a recovery row's sealed column.
func recoveryAD(id int64, column string) string { return fmt.Sprintf("recovery/%d/%s", id, column) }
