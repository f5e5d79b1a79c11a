// When a word counts as legible in an input image (the `words` of an example, which word recall
// is measured on): a capital height of at least 3.5 px once the image is scaled to 512 px on its
// longest side, the largest input the small model is planned for. Smaller words stay in the
// target; they are just not counted as readable.
export const LEGIBLE = { longestSide: 512, capHeight: 3.5 };

/** Capital height per font size of DejaVu Sans, the renderer's sans-serif. */
export const CAP_PER_EM = 0.73;
