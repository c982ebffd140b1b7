/**
 * Who the day's patients can be: the family and given names (the seed draws a pair no other patient
 * of the day has), streets, and Columbus-area towns with their ZIP codes. All fictional.
 */

// prettier-ignore
export const FAMILY = ['Alvarez', 'Baker', 'Chen', 'Dawson', 'Eberhardt', 'Fofana', 'Gallagher', 'Hernandez', 'Ibrahim', 'Jablonski', 'Kowalczyk', 'Lindqvist', 'Moreau', 'Nguyen', 'Okonkwo', 'Patel', 'Quintero', 'Russo', 'Sato', 'Thompson', 'Underwood', 'Vasquez', 'Washington', 'Xu', 'Yamamoto', 'Zielinski', 'Abernathy', 'Bianchi', 'Castellanos', 'Dubois', 'Esposito', 'Fischer', 'Goldberg', 'Haddad', 'Iverson', 'Jensen'];
// prettier-ignore
export const GIVEN = {
  female: ['Rosa', 'Linda', 'Mei', 'Dolores', 'Aisha', 'Karen', 'Ingrid', 'Maribel', 'Tamika', 'Yuki', 'Fatima', 'Joan', 'Olga', 'Beatriz', 'Nora', 'Helen'],
  male: ['James', 'Wei', 'Harold', 'Darnell', 'Tomasz', 'Rajesh', 'Luis', 'Emeka', 'Gary', 'Hiroshi', 'Ahmed', 'Frank', 'Pavel', 'Diego', 'Walter', 'Curtis'],
} as const;
// prettier-ignore
export const STREETS = ['Maple Ave', 'High St', 'Cleveland Ave', 'Morse Rd', 'Parsons Ave', 'Karl Rd', 'Sawmill Rd', 'Livingston Ave', 'Hamilton Rd', 'Broad St'];
export const PLACES: readonly [string, string][] = [
  ['Columbus', '43215'],
  ['Columbus', '43206'],
  ['Columbus', '43224'],
  ['Dublin', '43017'],
  ['Westerville', '43081'],
  ['Grove City', '43123'],
  ['Reynoldsburg', '43068'],
  ['Hilliard', '43026'],
];
