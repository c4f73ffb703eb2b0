package portal

import (
	"fmt"
	"html/template"
	"image"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// qrQuiet is the blank margin around a QR code, in modules: the four the
// standard asks for, so phone cameras find its edges.
const qrQuiet = 4

// qrSVG draws the QR code of text as an SVG image, on the server: the
// encoder (boombuler/barcode) gives the module matrix, and each row's runs
// of dark modules become one path, so nothing leaves the server and no
// script is needed. label is the image's accessible name.
func qrSVG(text, label string) (template.HTML, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", err
	}
	b := code.Bounds()
	n := b.Dx()
	size := n + 2*qrQuiet
	var path strings.Builder
	for y := 0; y < n; y++ {
		for x := 0; x < n; {
			if !dark(code, b.Min.X+x, b.Min.Y+y) {
				x++
				continue
			}
			run := 1
			for x+run < n && dark(code, b.Min.X+x+run, b.Min.Y+y) {
				run++
			}
			fmt.Fprintf(&path, "M%d %dh%dv1h-%dz", x+qrQuiet, y+qrQuiet, run, run)
			x += run
		}
	}
	svg := fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" shape-rendering="crispEdges">`+
		`<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`,
		size, size, size*5, size*5, template.HTMLEscapeString(label), size, size, path.String())
	return template.HTML(svg), nil
}

// dark reports whether the module at x, y is dark.
func dark(code image.Image, x, y int) bool {
	r, _, _, _ := code.At(x, y).RGBA()
	return r < 0x8000
}
