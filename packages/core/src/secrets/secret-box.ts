/**
 * Encrypts plugin secret values at rest with AES-256-GCM. The master key comes from
 * PX_MASTER_KEY (32 bytes, base64 or hex) or from `<dataDir>/master.key`, generated with mode
 * 0600 on first start. Values are never logged; only this class sees plaintext.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { coreConfigError, parseMasterKey } from '../config/settings.ts';
import { writeFileAtomic } from '../storage/atomic-file.ts';

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('The secrets master key must be 32 bytes');
    this.#key = key;
  }

  /**
   * `fromEnv`: PX_MASTER_KEY, a string (checked here) or already parsed by config/core-config.ts.
   * `noSecretsYet`: the data folder has no database yet, so nothing was ever sealed; an empty key
   * file there (left by an older core that hit a full disk on its first start) is replaced.
   */
  static async load(
    keyFile: string,
    fromEnv: string | Buffer | undefined,
    opts: { noSecretsYet?: boolean } = {},
  ): Promise<SecretBox> {
    if (fromEnv) return new SecretBox(typeof fromEnv === 'string' ? parseMasterKey(fromEnv) : fromEnv);
    try {
      const text = (await readFile(keyFile, 'utf8')).trim();
      if (!text && opts.noSecretsYet) return await SecretBox.#create(keyFile, { replace: true });
      const key = Buffer.from(text, 'base64');
      if (key.length !== 32)
        throw coreConfigError(
          keyFile,
          undefined,
          `holds ${key.length} bytes, not a 32-byte base64 key`,
          'Restore the key file from your backup (secrets stored with another key cannot be read), or set PX_MASTER_KEY.',
        );
      return new SecretBox(key);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return SecretBox.#create(keyFile, { replace: false });
    }
  }

  /** A new key, written whole or not at all; never over an existing key unless `replace`. */
  static async #create(keyFile: string, opts: { replace: boolean }): Promise<SecretBox> {
    const key = randomBytes(32);
    await writeFileAtomic(keyFile, key.toString('base64') + '\n', { mode: 0o600, exclusive: !opts.replace });
    return new SecretBox(key);
  }

  /** Returns "v1.<iv>.<tag>.<ciphertext>" (base64url parts). */
  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      'v1',
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      data.toString('base64url'),
    ].join('.');
  }

  open(sealed: string): string {
    const [version, iv, tag, data] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || data === undefined)
      throw new Error('Sealed secret has an unknown format');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }

  sealJson(value: Record<string, string>): string {
    return this.seal(JSON.stringify(value));
  }

  openJson(sealed: string | null): Record<string, string> {
    return sealed ? (JSON.parse(this.open(sealed)) as Record<string, string>) : {};
  }
}
