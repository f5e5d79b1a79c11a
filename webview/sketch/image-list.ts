// The strip of images the user added (pasted, dropped, captured): thumbnails in the order they will
// be sent, each with a remove button. Built with DOM calls only; names are set as text, never HTML.
import type { SketchImage } from '../../src/extension/sketch/protocol';

export class ImageList {
  constructor(
    private readonly list: HTMLUListElement,
    private readonly onRemove: (index: number) => void,
  ) {}

  render(images: readonly SketchImage[]): void {
    this.list.replaceChildren(
      ...images.map((image, index) => {
        const item = document.createElement('li');
        const thumb = document.createElement('img');
        thumb.src = image.dataUrl;
        thumb.alt = image.name;
        const name = document.createElement('span');
        name.textContent = image.name;
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.textContent = '×';
        remove.setAttribute('aria-label', `Remove ${image.name}`);
        remove.addEventListener('click', () => this.onRemove(index));
        item.append(thumb, name, remove);
        return item;
      }),
    );
  }
}
