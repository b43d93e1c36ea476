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
	"strings"

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
// With data keys (see WithDataKeys) the payloads of a workflow about one
// child are sealed with that child's data key instead: the SDK tells the
// codec which workflow a payload belongs to (its serialization context).
type PayloadCodec struct {
	keys *Keyring
	data *DataKeys
	// subject is the child whose data key seals this codec's payloads
	// ("" outside such a workflow's context).
	subject string
}

var (
	_ converter.PayloadCodec                         = (*PayloadCodec)(nil)
	_ converter.PayloadCodecWithSerializationContext = (*PayloadCodec)(nil)
)

// New returns a codec over keys.
func New(keys *Keyring) *PayloadCodec { return &PayloadCodec{keys: keys} }

// WithDataKeys returns a codec that seals the payloads of workflows about
// one child with that child's data key, and opens payloads sealed either
// way. Payloads sealed with the keyring before the change stay readable.
func (c *PayloadCodec) WithDataKeys(d *DataKeys) *PayloadCodec {
	return &PayloadCodec{keys: c.keys, data: d}
}

// WithSerializationContext binds the codec to the workflow a payload
// belongs to: a child's workflow (or its activities, updates, signals and
// queries) is sealed with the child's data key.
func (c *PayloadCodec) WithSerializationContext(sc converter.SerializationContext) converter.PayloadCodec {
	if c.data == nil {
		return c
	}
	var workflowID string
	switch v := sc.(type) {
	case converter.WorkflowSerializationContext:
		workflowID = v.WorkflowID
	case converter.ActivitySerializationContext:
		workflowID = v.WorkflowID
	}
	subject, ok := c.data.subject(workflowID)
	if !ok {
		subject = ""
	}
	if subject == c.subject {
		return c
	}
	return &PayloadCodec{keys: c.keys, data: c.data, subject: subject}
}

// ForSubject returns the codec as it seals the payloads of a workflow
// about subject (for tools and tests that encode outside the SDK).
func (c *PayloadCodec) ForSubject(subject string) *PayloadCodec {
	return &PayloadCodec{keys: c.keys, data: c.data, subject: subject}
}

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

// Encode seals each payload with the subject's data key, or with the
// keyring's active key outside a child's workflow.
func (c *PayloadCodec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id, aead := c.keys.active()
	if c.subject != "" && c.data != nil {
		dataID, dataAEAD, err := c.data.forSubject(c.subject)
		if err != nil {
			return nil, err
		}
		id, aead = dataKeyPrefix+dataID, dataAEAD
	}
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
		aead, err := c.aeadFor(id)
		if err != nil {
			return nil, err
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

// aeadFor finds the key a payload names: a subject's data key or a
// keyring key.
func (c *PayloadCodec) aeadFor(id string) (cipher.AEAD, error) {
	if isDataKeyID(id) {
		if c.data == nil {
			return nil, fmt.Errorf("%w (a child's data key %q; this process has no data key vault)", ErrUnknownKey, id)
		}
		return c.data.byKeyID(strings.TrimPrefix(id, dataKeyPrefix))
	}
	aead, ok := c.keys.lookup(id)
	if !ok {
		return nil, fmt.Errorf("%w (key id %q)", ErrUnknownKey, id)
	}
	return aead, nil
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
