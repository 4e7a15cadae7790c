package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

var sideColors = map[string]color.RGBA{
	sideSluice:  {0x1f, 0x77, 0xb4, 0xff},
	sideFranz:   {0x7f, 0x7f, 0x7f, 0xff},
	sideConnect: {0xd6, 0x27, 0x28, 0xff},
}

type bar struct {
	label string
	side  string
	value float64
	text  string
}

// writeCharts draws one horizontal bar chart per metric.
func writeCharts(dir string, rows []row) error {
	charts := map[string][]bar{}
	titles := map[string]string{}
	for _, rw := range rows {
		for _, m := range rw.Sides {
			label := fmt.Sprintf("%s %s, %s", rw.Scenario, rw.Case, m.Side)
			var b bar
			var name string
			switch rw.Metric {
			case "seconds":
				name, titles["startup"] = "startup", "Start-up to first record (ms, lower is better)"
				b = bar{label, m.Side, m.Startup * 1000, fmt.Sprintf("%.0f ms", m.Startup*1000)}
			case "RSS per task":
				name, titles["memory"] = "memory", "Resident memory per task (MB, lower is better)"
				b = bar{label, m.Side, float64(m.RSSPerTask) / 1e6, fmt.Sprintf("%.2f MB", float64(m.RSSPerTask)/1e6)}
			default:
				name, titles["throughput"] = "throughput", "Throughput (MB/s of record values, higher is better)"
				b = bar{label, m.Side, m.mbPerSec(), fmt.Sprintf("%.1f MB/s, %.0f rec/s", m.mbPerSec(), m.recordsPerSec())}
			}
			charts[name] = append(charts[name], b)
		}
	}
	for name, bars := range charts {
		if err := drawChart(filepath.Join(dir, name+".png"), titles[name], bars); err != nil {
			return err
		}
	}
	return nil
}

func drawChart(path, title string, bars []bar) error {
	const (
		labelW = 360
		barW   = 420
		textW  = 200
		rowH   = 22
		top    = 40
	)
	w, h := labelW+barW+textW, top+rowH*len(bars)+20
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.White}, image.Point{}, draw.Src)
	text(img, 10, 22, title, color.Black)
	maxV := 0.0
	for _, b := range bars {
		maxV = max(maxV, b.value)
	}
	for i, b := range bars {
		y := top + i*rowH
		text(img, 10, y+15, truncate(b.label, labelW/7-1), color.Black)
		n := 0
		if maxV > 0 {
			n = int(b.value / maxV * barW)
		}
		c, ok := sideColors[b.side]
		if !ok {
			c = color.RGBA{0x2c, 0xa0, 0x2c, 0xff}
		}
		draw.Draw(img, image.Rect(labelW, y+4, labelW+max(n, 1), y+rowH-2), &image.Uniform{c}, image.Point{}, draw.Src)
		text(img, labelW+n+6, y+15, b.text, color.Black)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func text(img *image.RGBA, x, y int, s string, c color.Color) {
	d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	// The built-in face is ASCII only.
	s = strings.NewReplacer("→", "->", "×", "x", "÷", "/").Replace(s)
	d.DrawString(strings.ToValidUTF8(s, "?"))
}
