/**
 * The clinical codes the seeded day is charted with: the ICD-10-CM diagnoses its regimens treat
 * (public codes, CMS descriptors), which of them are acute and which fit one sex only, and the
 * SNOMED CT body sites and routes of administration.
 */
import type { Route, SiteKey } from '../seed/model.ts';

export const DX: Readonly<Record<string, string>> = {
  'C50.911': 'Malignant neoplasm of unspecified site of right female breast',
  'C56.9': 'Malignant neoplasm of unspecified ovary',
  'C34.90': 'Malignant neoplasm of unspecified part of unspecified bronchus or lung',
  'C18.7': 'Malignant neoplasm of sigmoid colon',
  'C83.30': 'Diffuse large B-cell lymphoma, unspecified site',
  C61: 'Malignant neoplasm of prostate',
  'M05.79':
    'Rheumatoid arthritis with rheumatoid factor of multiple sites without organ or systems involvement',
  'L40.50': 'Arthropathic psoriasis, unspecified',
  'K50.90': "Crohn's disease, unspecified, without complications",
  'K51.90': 'Ulcerative colitis, unspecified, without complications',
  'G35.A': 'Relapsing-remitting multiple sclerosis',
  'G61.81': 'Chronic inflammatory demyelinating polyneuritis',
  'D83.9': 'Common variable immunodeficiency, unspecified',
  'D50.0': 'Iron deficiency anemia secondary to blood loss (chronic)',
  'N18.4': 'Chronic kidney disease, stage 4 (severe)',
  'D63.1': 'Anemia in chronic kidney disease',
  'D51.0': 'Vitamin B12 deficiency anemia due to intrinsic factor deficiency',
  'M81.0': 'Age-related osteoporosis without current pathological fracture',
  'L03.115': 'Cellulitis of right lower limb',
  'A41.9': 'Sepsis, unspecified organism',
  'E86.0': 'Dehydration',
  'R11.2': 'Nausea with vomiting, unspecified',
};

/** Recent conditions (onset days before the visit, not years). */
export const ACUTE_DX: readonly string[] = ['E86.0', 'R11.2', 'L03.115', 'A41.9'];
/** Diagnoses that fix the patient's sex when drawn. */
export const FEMALE_ONLY: readonly string[] = ['C56.9', 'C50.911'];
export const MALE_ONLY: readonly string[] = ['C61'];

/** SNOMED CT body structures: code, display. */
export const SITES: Readonly<Record<SiteKey, [string, string]>> = {
  'l-forearm': ['66480008', 'Structure of left forearm'],
  'r-forearm': ['64262003', 'Structure of right forearm'],
  'l-upper-arm': ['368208006', 'Left upper arm structure'],
  'r-upper-arm': ['368209003', 'Right upper arm structure'],
  abdomen: ['113345001', 'Abdominal structure'],
  buttock: ['46862004', 'Buttock structure'],
  port: ['78904004', 'Chest wall structure (implanted port)'],
};
/** SNOMED CT routes of administration: code, display. */
export const ROUTES: Readonly<Record<Route, [string, string]>> = {
  IV: ['47625008', 'Intravenous route'],
  SC: ['34206005', 'Subcutaneous route'],
  IM: ['78421000', 'Intramuscular route'],
};
