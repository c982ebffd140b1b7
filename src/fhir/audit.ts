/**
 * AuditEvents for every read and write of PHI (HIPAA §164.312(b)), shaped after the FHIR R4
 * AuditEvent "RESTful interaction" pattern (https://hl7.org/fhir/R4/auditevent.html): type `rest`,
 * subtype = the interaction, one entity per resource touched and one per patient it concerns, so
 * `AuditEvent?patient=Patient/x` answers "who saw this patient's data".
 */
import { randomUUIDv7 } from 'node:crypto';
import type { AuditEvent, AuditEventEntity, Reference, Resource } from '@medplum/fhirtypes';
import { compileExpression, normalizeReference } from '../store/search-index.ts';
import { getSearchParameter } from '../store/search-parameters.ts';
import { EXT_REQUEST_ID } from '../contract/canonical.ts';

export type AuditedInteraction =
  'read' | 'vread' | 'history-instance' | 'search-type' | 'create' | 'update' | 'operation';

const ACTION: Record<AuditedInteraction, 'C' | 'R' | 'U' | 'E'> = {
  read: 'R',
  vread: 'R',
  'history-instance': 'R',
  'search-type': 'E',
  create: 'C',
  update: 'U',
  operation: 'E',
};

/**
 * What the event did to a resource it names, when one event covers a transaction that creates some
 * resources and changes others (AuditEvent.entity.lifecycle, ObjectLifecycleEvents: ISO TS
 * 21089-2017 record lifecycle events, https://hl7.org/fhir/R4/codesystem-iso-21089-lifecycle.html).
 */
export type AuditLifecycle = 'originate' | 'amend';

const LIFECYCLE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle';

export interface AuditInput {
  readonly id: string;
  readonly now: Date;
  readonly interaction: AuditedInteraction;
  /** Outcome per the AuditEvent outcome code system: 0 success, 4 minor failure, 8 serious failure. */
  readonly outcome: '0' | '4' | '8';
  readonly clientId: string;
  /**
   * The person behind the client (the billers' app): their `fhirUser` as an absolute URL at their
   * EHR, and their name. They become the requesting agent; the app is recorded beside them.
   */
  readonly user?: { readonly reference: string; readonly display?: string };
  readonly requestId?: string;
  /** Resources touched, as "Type/id" (or "Type/id/_history/v"). */
  readonly resources: readonly string[];
  /** Patients the resources belong to, as "Patient/id". */
  readonly patients: readonly string[];
  /** Per resource (as in `resources`), what the event did to it; recorded as the entity's lifecycle. */
  readonly lifecycles?: Readonly<Record<string, AuditLifecycle>>;
  /** For searches: the query string, kept as the entity's query (base64 per the R4 datatype). */
  readonly query?: string;
  readonly publicUrl: string;
}

/**
 * A new AuditEvent's id: a UUID version 7 (RFC 9562 §5.7), whose leading 48 bits are the
 * millisecond it was made. Why: the FHIR API writes an AuditEvent for every read, and with random
 * (v4) ids each one lands on a random page of the store's id indexes (the SQLite `resources` and
 * `history` keys), so a group commit of n events rewrote ~n scattered index pages; time-ordered ids
 * append to the same last page. The time it reveals is the event's own `recorded`. Resources other
 * than AuditEvents keep random ids (a Patient's id should not tell when it was registered).
 */
export function newAuditEventId(): string {
  return randomUUIDv7();
}

export function buildAuditEvent(input: AuditInput): AuditEvent & { id: string } {
  const entities: AuditEventEntity[] = [
    ...input.resources.map((reference): AuditEventEntity => {
      const lifecycle = input.lifecycles?.[reference];
      return {
        what: { reference },
        type: {
          system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
          code: '2',
          display: 'System Object',
        },
        ...(lifecycle ? { lifecycle: { system: LIFECYCLE_SYSTEM, code: lifecycle } } : {}),
      };
    }),
    ...[...new Set(input.patients)].map((reference): AuditEventEntity => ({
      what: { reference },
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '1',
        display: 'Person',
      },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
    })),
  ];
  if (input.query !== undefined) {
    entities.push({
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '2',
        display: 'System Object',
      },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' },
      query: Buffer.from(input.query, 'utf8').toString('base64'),
    });
  }
  return {
    resourceType: 'AuditEvent',
    id: input.id,
    type: {
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
      display: 'RESTful Operation',
    },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: input.interaction }],
    action: ACTION[input.interaction],
    recorded: input.now.toISOString(),
    outcome: input.outcome,
    agent: [
      {
        type: {
          coding: [
            {
              system: 'http://dicom.nema.org/resources/ontology/DCM',
              code: '110150',
              display: 'Application',
            },
          ],
        },
        who: { identifier: { system: `${input.publicUrl}/oauth2/clients`, value: input.clientId } },
        requestor: input.user === undefined,
      },
      ...(input.user
        ? [
            {
              type: {
                coding: [
                  {
                    system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type',
                    code: 'humanuser',
                    display: 'human user',
                  },
                ],
              },
              who: {
                reference: input.user.reference,
                ...(input.user.display ? { display: input.user.display } : {}),
              },
              requestor: true,
            },
          ]
        : []),
    ],
    source: {
      observer: { display: 'Dripline' },
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    entity: entities,
    ...(input.requestId
      ? {
          extension: [{ url: EXT_REQUEST_ID, valueString: input.requestId }],
        }
      : {}),
  };
}

/** Patients a resource concerns, from its `patient` search parameter (or itself). */
export function patientsOf(resource: Resource & { id?: string }): string[] {
  if (resource.resourceType === 'Patient') {
    return resource.id ? [`Patient/${resource.id}`] : [];
  }
  const definition = getSearchParameter(resource.resourceType, 'patient');
  if (!definition) {
    return [];
  }
  return compileExpression(definition.expression)(resource)
    .map((v) => normalizeReference((v as Reference | undefined)?.reference ?? ''))
    .filter((r): r is string => r?.startsWith('Patient/') === true);
}
