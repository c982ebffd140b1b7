/**
 * A small document model (headings, paragraphs, label/value rows, tables) rendered to PDF with
 * pdfkit, for appeal packets and patient statements: the content is built by pure functions, this
 * module only lays it out. Letter size, Helvetica (a PDF standard font: nothing embedded), text
 * kept as text so the PDF can be read back (and by screen readers).
 *
 * pdfkit (with fontkit, brotli and its ciphers, ~0.3 CPU-s to load) is imported on the first
 * render, not with this module: every server process and test file loads the remittance routes,
 * few render a document.
 */

export type Block =
  | { readonly kind: 'title'; readonly text: string }
  | { readonly kind: 'heading'; readonly text: string }
  | { readonly kind: 'paragraph'; readonly text: string }
  | { readonly kind: 'fields'; readonly rows: readonly (readonly [string, string])[] }
  | {
      readonly kind: 'table';
      readonly columns: readonly {
        readonly title: string;
        readonly width: number;
        readonly align?: 'left' | 'right';
      }[];
      readonly rows: readonly (readonly string[])[];
    }
  | { readonly kind: 'list'; readonly items: readonly string[] };

export interface DocumentInfo {
  readonly title: string;
  readonly author: string;
  /** The document's date, for the PDF's metadata (deterministic output for the same content). */
  readonly created: Date;
}

const MARGIN = 54;

function draw(doc: PDFKit.PDFDocument, block: Block): void {
  const width = doc.page.width - 2 * MARGIN;
  switch (block.kind) {
    case 'title':
      doc.font('Helvetica-Bold').fontSize(16).text(block.text, { width }).moveDown(0.5);
      return;
    case 'heading':
      doc.moveDown(0.4).font('Helvetica-Bold').fontSize(11.5).text(block.text, { width }).moveDown(0.2);
      return;
    case 'paragraph':
      doc.font('Helvetica').fontSize(10).text(block.text, { width }).moveDown(0.4);
      return;
    case 'list':
      doc.font('Helvetica').fontSize(10);
      for (const item of block.items) {
        doc.text(`•  ${item}`, { width, indent: 0 });
      }
      doc.moveDown(0.4);
      return;
    case 'fields':
      doc.fontSize(10);
      for (const [label, value] of block.rows) {
        doc
          .font('Helvetica-Bold')
          .text(`${label}: `, { continued: true, width })
          .font('Helvetica')
          .text(value);
      }
      doc.moveDown(0.4);
      return;
    case 'table': {
      const total = block.columns.reduce((s, c) => s + c.width, 0);
      const widths = block.columns.map((c) => (c.width / total) * width);
      const row = (cells: readonly string[], bold: boolean): void => {
        if (doc.y > doc.page.height - MARGIN - 40) {
          doc.addPage();
        }
        const y = doc.y;
        let x = MARGIN;
        let bottom = y;
        doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(9);
        cells.forEach((cell, i) => {
          const w = widths[i] ?? 0;
          doc.text(cell, x + 2, y, { width: w - 4, align: block.columns[i]?.align ?? 'left' });
          bottom = Math.max(bottom, doc.y);
          x += w;
        });
        doc.x = MARGIN;
        doc.y = bottom + 3;
      };
      row(
        block.columns.map((c) => c.title),
        true,
      );
      for (const cells of block.rows) {
        row(cells, false);
      }
      doc.moveDown(0.4);
      return;
    }
  }
}

/** The blocks as a PDF (bytes). */
export async function renderPdf(info: DocumentInfo, blocks: readonly Block[]): Promise<Buffer> {
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({
    size: 'LETTER',
    margin: MARGIN,
    info: { Title: info.title, Author: info.author, CreationDate: info.created },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  for (const block of blocks) {
    draw(doc, block);
  }
  doc.end();
  return await done;
}

export const usd = (x: number): string =>
  `${x < 0 ? '-' : ''}$${Math.abs(x).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
