/**
 * What Dripline asks each EHR for, per topic: the topic canonical (backport and R5 modes), the
 * filters, and the payload content. EHRs publish their own topics, so every connection can name
 * them (`topics` in its config); what it leaves out takes the defaults below. Pure.
 *
 * Filters are search-style strings, `Type?code=v1,v2&code2=v` (Backport IG, backport-filter-criteria:
 * "search-style filters"; several are AND-ed, comma-separated values are OR-ed as in FHIR search).
 * The same strings become, per mode:
 * - backport: one `backport-filter-criteria` extension each on `Subscription.criteria`;
 * - r5: one `filterBy` per parameter;
 * - rest-hook: the query of the classic R4 criteria (`Type?` + every filter's query, `&`-joined),
 *   which a strict EHR only accepts with the R4 search parameters of that type.
 *
 * Default filters use only R4 search parameters: Encounters by `location` (Encounter-location,
 * every configured location in one comma-separated filter), administrations unfiltered (R4 gives
 * MedicationAdministration no location parameter: its place is its encounter's). Dripline applies
 * the connection's locations itself to everything it ingests (./location-filter.ts), so a filter the
 * EHR ignores or cannot express costs traffic, never a wrong bill.
 */
import type { EhrConnectionConfig, EhrPayloadContent } from '../config/config.ts';
import { TOPIC_ENCOUNTER, TOPIC_MEDICATION_ADMINISTRATION } from '../contract/canonical.ts';

/** Topic canonicals asked for when the connection names none (the sandbox EHR offers these). */
/** The resource types Dripline subscribes to, one subscription (topic) each. */
export type IngestTopic = 'MedicationAdministration' | 'Encounter';
export const INGEST_TOPICS: readonly IngestTopic[] = ['MedicationAdministration', 'Encounter'];

export const DEFAULT_TOPIC_URLS: Readonly<Record<IngestTopic, string>> = {
  MedicationAdministration: TOPIC_MEDICATION_ADMINISTRATION,
  Encounter: TOPIC_ENCOUNTER,
};

export interface TopicPlan {
  readonly topic: IngestTopic;
  /** The topic canonical (backport, r5). */
  readonly url: string;
  /** Search-style filters, AND-ed; empty = every event of the topic. */
  readonly filters: readonly string[];
  readonly payload: EhrPayloadContent;
}

/** The default filters of a topic for these locations. */
export function defaultFilters(topic: IngestTopic, locations: readonly string[]): string[] {
  return topic === 'Encounter' && locations.length > 0 ? [`Encounter?location=${locations.join(',')}`] : [];
}

export function topicPlan(
  connection: Pick<EhrConnectionConfig, 'topics' | 'locations' | 'payload'>,
  topic: IngestTopic,
): TopicPlan {
  const named = connection.topics?.[topic];
  return {
    topic,
    url: named?.url ?? DEFAULT_TOPIC_URLS[topic],
    filters: named?.filters ?? defaultFilters(topic, connection.locations),
    payload: named?.payload ?? connection.payload,
  };
}

/** The query part of a filter string ("Encounter?location=a" → "location=a"). */
function queryOf(filter: string): string {
  const q = filter.indexOf('?');
  return q >= 0 ? filter.slice(q + 1) : filter;
}

/** Classic R4 criteria: the type and every filter's query, AND-ed (`Type?` alone = every change). */
export function restHookCriteria(plan: TopicPlan): string {
  return `${plan.topic}?${plan.filters
    .map(queryOf)
    .filter((q) => q !== '')
    .join('&')}`;
}

/** R5 `filterBy`: one entry per parameter of every filter (`code:modifier` splits into both). */
export function r5FilterBy(
  plan: TopicPlan,
): { resourceType: string; filterParameter: string; modifier?: string; value: string }[] {
  return plan.filters.flatMap((filter) =>
    [...new URLSearchParams(queryOf(filter))].map(([code, value]) => {
      const [filterParameter = code, modifier] = code.split(':');
      return {
        resourceType: plan.topic,
        filterParameter,
        ...(modifier ? { modifier } : {}),
        value,
      };
    }),
  );
}
