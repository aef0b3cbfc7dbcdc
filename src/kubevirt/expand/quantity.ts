// Kubernetes resource quantities ("1Gi", "500m", "1.5e3"), exactly as k8s.io/apimachinery's
// resource.Quantity parses, compares and prints them. Expansion needs this because KubeVirt stores
// quantities in canonical form (an instance type's "1024Mi" becomes "1Gi"), computes memory
// overcommit on the byte value, and compares memory against a preference's requirement.
// Values are held exactly as bigint * 10^exp10 so that no rounding ever creeps in.

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** value = mantissa * 10^exp10 */
  mantissa: bigint;
  exp10: number;
  format: QuantityFormat;
  /** The original text, when Kubernetes keeps it (see parseQuantity). */
  text?: string;
}

export class QuantityError extends Error {
  constructor(text: string) {
    super(`"${text}" is not a valid resource quantity`);
    this.name = 'QuantityError';
  }
}

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const QUANTITY_RE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(.*)$/;
const TEN = 10n;

function pow10(n: number): bigint {
  return TEN ** BigInt(n);
}

/** Removes trailing decimal zeros from the mantissa (keeps the value). */
function normalise(mantissa: bigint, exp10: number): { mantissa: bigint; exp10: number } {
  if (mantissa === 0n) return { mantissa, exp10: 0 };
  while (mantissa % TEN === 0n) {
    mantissa /= TEN;
    exp10 += 1;
  }
  return { mantissa, exp10 };
}

const MAX_INT64 = (1n << 63n) - 1n;

/**
 * Parses like resource.ParseQuantity, including two details that show in what Kubernetes stores:
 * a value already "in canonical form" by its heuristics keeps its original text (`text`), and
 * binary quantities are capped at the int64 maximum. Finer than a nano unit rounds up to one.
 */
export function parseQuantity(input: unknown): Quantity {
  if (typeof input === 'number' && Number.isFinite(input)) input = String(input);
  if (typeof input === 'bigint') input = input.toString();
  if (typeof input !== 'string') throw new QuantityError(String(input));
  const text = input;
  if (text === '0') return { mantissa: 0n, exp10: 0, format: 'DecimalSI', text };
  const m = QUANTITY_RE.exec(text);
  if (!m) throw new QuantityError(text);
  const [, sign = '', digits = '', suffix = ''] = m;
  const [whole = '', frac = ''] = digits.split('.');
  const num = whole.replace(/^0+/, '') || '0';
  let format: QuantityFormat;
  let exponent: number;
  if (suffix in DECIMAL_SUFFIX) {
    format = 'DecimalSI';
    exponent = DECIMAL_SUFFIX[suffix] ?? 0;
  } else if (suffix in BINARY_SUFFIX) {
    format = 'BinarySI';
    exponent = BINARY_SUFFIX[suffix] ?? 0;
  } else if (/^[eE][+-]?\d+$/.test(suffix)) {
    format = 'DecimalExponent';
    exponent = Number(suffix.slice(1));
  } else {
    throw new QuantityError(text);
  }

  // Kubernetes' int64 fast path, which also decides whether the original text is kept.
  const precision =
    format === 'BinarySI'
      ? frac.length === 0
        ? 15 - num.length - Math.trunc(Math.fround((Math.fround(exponent) * 3) / 10)) - 1
        : -1
      : 18 - (num.length + frac.length);
  if (precision >= 0) {
    const scale = (format === 'BinarySI' ? 0 : exponent) - frac.length;
    if (scale >= -9) {
      const shifted = num + frac;
      const value = BigInt(shifted);
      const mult = format === 'BinarySI' ? 1n << BigInt(exponent) : 1n;
      const product = value * mult;
      if (value <= MAX_INT64 && product <= MAX_INT64) {
        const canonical =
          format === 'BinarySI' ? exponent % 10 === 0 && (value & 7n) !== 0n : scale % 3 === 0 && !shifted.endsWith('000') && !shifted.startsWith('0');
        const n = normalise(sign === '-' ? -product : product, scale);
        return canonical ? { ...n, format, text } : { ...n, format };
      }
    }
  }

  let mantissa = BigInt(num + frac);
  let exp10 = -frac.length;
  if (format === 'BinarySI') mantissa *= 1n << BigInt(exponent);
  else exp10 += exponent;
  // Values finer than a nano unit are rounded up to one.
  if (exp10 < -9 && mantissa !== 0n) {
    const div = pow10(-9 - exp10);
    mantissa = (mantissa + div - 1n) / div;
    exp10 = -9;
  }
  if (format === 'BinarySI' && cmpQuantity({ mantissa, exp10, format }, { mantissa: MAX_INT64, exp10: 0, format }) > 0) {
    mantissa = MAX_INT64;
    exp10 = 0;
  }
  const n = normalise(sign === '-' ? -mantissa : mantissa, exp10);
  if (format === 'BinarySI' && n.mantissa > 0n && cmpQuantity({ ...n, format }, ONE) < 0) format = 'DecimalSI';
  return { ...n, format };
}

const ONE: Quantity = { mantissa: 1n, exp10: 0, format: 'DecimalSI' };

/** -1, 0 or 1 like Quantity.Cmp. */
export function cmpQuantity(a: Quantity, b: Quantity): number {
  const e = Math.min(a.exp10, b.exp10);
  const x = a.mantissa * pow10(a.exp10 - e);
  const y = b.mantissa * pow10(b.exp10 - e);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Quantity.Value(): the value rounded up to an integer. */
export function quantityValue(q: Quantity): bigint {
  if (q.exp10 >= 0) return q.mantissa * pow10(q.exp10);
  const div = pow10(-q.exp10);
  const t = q.mantissa / div;
  return q.mantissa > 0n && t * div !== q.mantissa ? t + 1n : t;
}

/** resource.NewQuantity(value, format). */
export function quantityFromInt(value: bigint, format: QuantityFormat): Quantity {
  return { ...normalise(value, 0), format };
}

const DECIMAL_NAME: Record<number, string> = { [-9]: 'n', [-6]: 'u', [-3]: 'm', 0: '', 3: 'k', 6: 'M', 9: 'G', 12: 'T', 15: 'P', 18: 'E' };
const BINARY_NAME = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/** The canonical text Kubernetes writes for a quantity (Quantity.String()). */
export function formatQuantity(q: Quantity): string {
  if (q.text !== undefined) return q.text;
  let format = q.format;
  if (format === 'BinarySI') {
    const small = cmpQuantity(q, { mantissa: -1024n, exp10: 0, format }) > 0 && cmpQuantity(q, { mantissa: 1024n, exp10: 0, format }) < 0;
    // Below 1024, or not a whole number, Kubernetes shows the decimal form so nothing is rounded.
    if (small || q.exp10 < 0) format = 'DecimalSI';
  }
  if (format === 'BinarySI') {
    let value = q.mantissa * pow10(q.exp10);
    let i = 0;
    while (i < BINARY_NAME.length - 1 && value !== 0n && value % 1024n === 0n) {
      value /= 1024n;
      i += 1;
    }
    return `${value}${BINARY_NAME[i]}`;
  }
  if (q.mantissa === 0n) return '0';
  let mantissa = q.mantissa;
  let exp = q.exp10;
  const r = ((exp % 3) + 3) % 3;
  if (r !== 0) {
    mantissa *= pow10(r);
    exp -= r;
  }
  if (format === 'DecimalExponent') return exp === 0 ? `${mantissa}` : `${mantissa}e${exp}`;
  const name = DECIMAL_NAME[exp];
  if (name !== undefined) return `${mantissa}${name}`;
  // Beyond exa or below nano Kubernetes falls back to an exponent.
  return `${mantissa}e${exp}`;
}

/** Parses and re-prints in canonical form; returns the input unchanged when it is not a quantity. */
export function canonicalQuantity(value: unknown): unknown {
  try {
    return formatQuantity(parseQuantity(value));
  } catch {
    return value;
  }
}
