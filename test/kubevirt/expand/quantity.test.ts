// Kubernetes quantities as KubeVirt stores them (k8s.io/apimachinery resource.Quantity).
import { describe, expect, it } from 'vitest';
import { cmpQuantity, formatQuantity, parseQuantity, quantityFromInt, quantityValue } from '../../../src/kubevirt/expand/quantity.ts';

describe('canonical form', () => {
  it.each<[string, string]>([
    ['1024Mi', '1Gi'],
    ['1Gi', '1Gi'],
    ['1536Mi', '1536Mi'],
    ['1.5Gi', '1536Mi'],
    ['0.5Gi', '512Mi'],
    ['1000000Ki', '1000000Ki'],
    ['1073741824', '1073741824'],
    ['2G', '2G'],
    ['3000M', '3G'],
    ['1500M', '1500M'],
    ['0.5', '500m'],
    ['100m', '100m'],
    ['1e3', '1e3'],
    ['1.5e3', '1500'],
    ['0', '0'],
    ['512', '512'],
    ['1.5Ki', '1536'],
    ['0.1n', '1n'],
  ])('%s is stored as %s', (input, canonical) => {
    expect(formatQuantity(parseQuantity(input))).toBe(canonical);
  });

  it.each(['', 'Gi', '1GB', '1.2.3', 'one', '1 Gi'])('%j is rejected', (input) => {
    expect(() => parseQuantity(input)).toThrow('is not a valid resource quantity');
  });
});

describe('values and comparison', () => {
  it.each<[string, string, number]>([
    ['2G', '2Gi', -1],
    ['2048Mi', '2Gi', 0],
    ['1.5Gi', '1536Mi', 0],
    ['1', '999m', 1],
  ])('%s vs %s', (a, b, sign) => {
    expect(cmpQuantity(parseQuantity(a), parseQuantity(b))).toBe(sign);
  });

  it('Value() rounds up', () => {
    expect(quantityValue(parseQuantity('500m'))).toBe(1n);
    expect(quantityValue(parseQuantity('2Gi'))).toBe(2147483648n);
  });

  it('NewQuantity keeps the requested format', () => {
    expect(formatQuantity(quantityFromInt(2147483648n, 'BinarySI'))).toBe('2Gi');
    expect(formatQuantity(quantityFromInt(2000000000n, 'DecimalSI'))).toBe('2G');
    expect(formatQuantity(quantityFromInt(966367616n, 'BinarySI'))).toBe('966367616');
  });
});
