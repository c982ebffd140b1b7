/**
 * X12 delimiters: the four characters that structure an interchange, the ones Dripline writes, and
 * how an interchange declares its own in the ISA. Pure; kept apart because the writer (fixed
 * delimiters) and the parser (whatever the sender chose) both need it.
 *
 * ASC X12 005010 implementation guides (TR3), Appendix B, B.1.1.2.5 "Delimiters", and X12.5 (the
 * interchange control header): the ISA is a fixed-length segment, 105 characters plus its segment
 * terminator. Its 4th character is the data element separator, ISA11 (the 83rd) the repetition
 * separator, ISA16 (the 105th) the component element separator, and the 106th the segment
 * terminator. The sender chooses them; they must differ from each other and from the characters of
 * the data, and they must not occur inside any data element. Before version 00501 (ISA12 below
 * 00501) ISA11 is the standards identifier `U`, not a repetition separator.
 */

/** The delimiters of one interchange. */
export interface Delimiters {
  /** Data element separator (ISA, 4th character). */
  readonly element: string;
  /** Component element separator (ISA16). */
  readonly component: string;
  /** Repetition separator (ISA11); absent before version 00501. */
  readonly repetition?: string;
  /** Segment terminator (the character after ISA16). */
  readonly segment: string;
}

/** The delimiters of every interchange Dripline writes (the TR3s' examples use the same). */
export const SEGMENT = '~';
export const ELEMENT = '*';
export const COMPONENT = ':';
export const REPETITION = '^';

export const WRITTEN_DELIMITERS: Delimiters = {
  element: ELEMENT,
  component: COMPONENT,
  repetition: REPETITION,
  segment: SEGMENT,
};

/** Length of the ISA with its segment terminator. */
export const ISA_LENGTH = 106;

/** Zero-based offsets in the ISA of its delimiters and element separators (X12.5 field widths). */
export const ISA_OFFSETS = {
  element: 3,
  repetition: 82,
  version: 84,
  component: 104,
  segment: 105,
  /** Where the data element separator must stand: before each of ISA01..ISA16. */
  separators: [3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103],
} as const;

export type IsaDelimiters =
  { readonly ok: true; readonly delimiters: Delimiters } | { readonly ok: false; readonly problem: string };

const LETTER_OR_DIGIT = /[A-Za-z0-9]/;

/**
 * The delimiters an ISA declares, read from its first 106 characters; or what is wrong with it
 * (not an ISA, not fixed-width, a delimiter that is a letter, digit or space, two the same).
 */
export function delimitersOfIsa(isa: string): IsaDelimiters {
  if (isa.length < ISA_LENGTH || !isa.startsWith('ISA')) {
    return { ok: false, problem: 'an interchange must begin with a 106-character ISA segment' };
  }
  const element = isa.charAt(ISA_OFFSETS.element);
  const misplaced = ISA_OFFSETS.separators.find((at) => isa.charAt(at) !== element);
  if (misplaced !== undefined) {
    return {
      ok: false,
      problem: `the ISA is not fixed-width: character ${misplaced + 1} should be the element separator "${element}"`,
    };
  }
  const version = isa.slice(ISA_OFFSETS.version, ISA_OFFSETS.version + 5);
  const repetition = version >= '00501' ? isa.charAt(ISA_OFFSETS.repetition) : undefined;
  const delimiters: Delimiters = {
    element,
    component: isa.charAt(ISA_OFFSETS.component),
    ...(repetition !== undefined ? { repetition } : {}),
    segment: isa.charAt(ISA_OFFSETS.segment),
  };
  const chosen = [
    delimiters.element,
    delimiters.component,
    delimiters.segment,
    ...(repetition ? [repetition] : []),
  ];
  if (chosen.some((c) => c === ' ' || LETTER_OR_DIGIT.test(c))) {
    return {
      ok: false,
      problem: `the ISA declares a letter, digit or space as a delimiter (${JSON.stringify(chosen)})`,
    };
  }
  if (new Set(chosen).size !== chosen.length) {
    return {
      ok: false,
      problem: `the ISA declares the same character for two delimiters (${JSON.stringify(chosen)})`,
    };
  }
  return { ok: true, delimiters };
}
