// Package codec encrypts Temporal payloads with AES-256-GCM so that the engine
// never stores a child's data in clear in workflow histories. Each encrypted
// payload names the key that sealed it, so keys can be added and rotated
// without stranding running workflows: old keys stay in the keyring for
// decryption while new payloads use the active key.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Metadata keys and values written on encrypted payloads.
const (
	MetadataEncoding      = "encoding"
	MetadataKeyID         = "encryption-key-id"
	EncodingEncrypted     = "binary/encrypted"
	encodingEncryptedAlgo = "AES-256-GCM"
	metadataCipher        = "encryption-cipher"
)

// ErrUnknownKey reports a payload sealed with a key the keyring does not hold.
var ErrUnknownKey = errors.New("codec: payload was encrypted with a key not in the keyring")

// PayloadCodec is a converter.PayloadCodec that seals every payload with the
// keyring's active key and opens payloads sealed by any key in the keyring.
type PayloadCodec struct {
	keys *Keyring
}

var _ converter.PayloadCodec = (*PayloadCodec)(nil)

// New returns a codec over keys.
func New(keys *Keyring) *PayloadCodec { return &PayloadCodec{keys: keys} }

// DataConverter wraps Temporal's default data converter with this codec.
func (c *PayloadCodec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter encrypts failure messages and stack traces too, so an
// error text can never leak a child's data into the history.
func (c *PayloadCodec) FailureConverter() converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          c.DataConverter(),
		EncodeCommonAttributes: true,
	})
}

// Encode seals each payload with the active key.
func (c *PayloadCodec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id, aead := c.keys.active()
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshalling payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: reading nonce: %w", err)
		}
		sealed := aead.Seal(nonce, nonce, plain, []byte(id))
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:    []byte(id),
				metadataCipher:   []byte(encodingEncryptedAlgo),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode opens payloads this codec sealed and passes others through unchanged
// (payloads written before encryption, or by a client without the codec).
func (c *PayloadCodec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.keys.lookup(id)
		if !ok {
			return nil, fmt.Errorf("%w (key id %q)", ErrUnknownKey, id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, fmt.Errorf("codec: encrypted payload with key %q is truncated", id)
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: opening payload with key %q: %w", id, err)
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return nil, fmt.Errorf("codec: unmarshalling payload: %w", err)
		}
		out[i] = &decoded
	}
	return out, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("codec: key is %d bytes, AES-256 needs 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("codec: %w", err)
	}
	return cipher.NewGCM(block)
}
