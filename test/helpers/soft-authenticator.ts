/**
 * @module test/helpers/soft-authenticator
 * A WebAuthn authenticator in software: it builds the exact bytes a browser and a security
 * key send (client data, authenticator data, CBOR attestation object, ECDSA P-256 signature,
 * WebAuthn sections 6.1, 6.5 and 5.8.1), so refusal tests can send what no real browser
 * produces: another RP id, another origin, a reused challenge, a tampered byte, a counter
 * going backwards, a chosen AAGUID, the backup-eligible flag. Browser tests use Chromium's
 * virtual authenticator instead.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const b64 = (b: Uint8Array | Buffer) => Buffer.from(b).toString('base64url');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();

export interface SoftOptions {
  rpId: string;
  origin: string;
  aaguid?: string;
  /** Backup eligible (a synced passkey) and backed up. */
  backupEligible?: boolean;
  userVerified?: boolean;
  signCount?: number;
}

export interface Overrides {
  rpId?: string;
  origin?: string;
  type?: string;
  challenge?: string;
  signCount?: number;
  userVerified?: boolean;
  backupEligible?: boolean;
  /** Changes the client data after signing. */
  tamperClientData?: boolean;
  /** Flips a bit of the signature. */
  tamperSignature?: boolean;
}

export class SoftAuthenticator {
  readonly credentialId = randomBytes(16);
  readonly opts: SoftOptions;
  signCount: number;
  private readonly privateKey: KeyObject;
  private readonly cose: Uint8Array;

  constructor(opts: SoftOptions) {
    this.opts = opts;
    this.signCount = opts.signCount ?? 0;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.cose = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
        [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
      ]),
    );
  }

  get id(): string {
    return b64(this.credentialId);
  }

  private authData(o: Overrides, attested: boolean): Buffer {
    const uv = o.userVerified ?? this.opts.userVerified ?? true;
    const be = o.backupEligible ?? this.opts.backupEligible ?? false;
    const flags = 0x01 | (uv ? 0x04 : 0) | (be ? 0x18 : 0) | (attested ? 0x40 : 0);
    const count = Buffer.alloc(4);
    count.writeUInt32BE(o.signCount ?? this.signCount);
    const parts = [sha256(o.rpId ?? this.opts.rpId), Buffer.from([flags]), count];
    if (attested) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(this.credentialId.length);
      parts.push(
        Buffer.from((this.opts.aaguid ?? '00000000-0000-0000-0000-000000000000').replaceAll('-', ''), 'hex'),
        len,
        this.credentialId,
      );
      parts.push(Buffer.from(this.cose));
    }
    return Buffer.concat(parts);
  }

  private clientData(type: string, challenge: string, o: Overrides): Buffer {
    return Buffer.from(
      JSON.stringify({
        type: o.type ?? type,
        challenge: o.challenge ?? challenge,
        origin: o.origin ?? this.opts.origin,
        crossOrigin: false,
      }),
    );
  }

  /** A registration response (attestation `none`) to `options.challenge`. */
  register(challenge: string, o: Overrides = {}) {
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', new Uint8Array(this.authData(o, true))],
      ]) as never,
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64(this.clientData('webauthn.create', challenge, o)),
        attestationObject: b64(attestationObject),
        transports: ['usb' as const],
      },
      clientExtensionResults: { credProps: { rk: true } },
    };
  }

  /** An assertion to `challenge`; the counter moves forward by one unless `signCount` is given. */
  assert(challenge: string, o: Overrides = {}) {
    if (o.signCount === undefined) this.signCount += 1;
    const authData = this.authData(o, false);
    let clientData = this.clientData('webauthn.get', challenge, o);
    let signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.privateKey);
    if (o.tamperClientData) clientData = Buffer.from(clientData.toString().replace('"crossOrigin":false', '"crossOrigin":false,"x":1'));
    if (o.tamperSignature) {
      signature = Buffer.from(signature);
      signature[signature.length - 1]! ^= 1;
    }
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key' as const,
      response: { clientDataJSON: b64(clientData), authenticatorData: b64(authData), signature: b64(signature) },
      clientExtensionResults: {},
    };
  }
}
